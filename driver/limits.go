package driver

// The limits of DynamoDB and S3, defined once for every driver: the
// DynamoDB driver reports them because they are its service's, and the
// in-memory and file drivers by default so that code tested on them does
// not fail in production on a limit it never met. DynamoDBLimits gathers
// them as an Info.
const (
	// DynamoDBMaxPartitionKeyBytes bounds the UTF-8 length of a partition
	// key (Info.MaxPartitionKeyBytes).
	DynamoDBMaxPartitionKeyBytes = 2048
	// DynamoDBMaxSortKeyBytes bounds the UTF-8 length of a sort key
	// (Info.MaxSortKeyBytes).
	DynamoDBMaxSortKeyBytes = 1024
	// DynamoDBMaxItemBytes bounds a document's size as DocumentSize counts
	// it, 400 KiB (Info.MaxDocumentBytes).
	DynamoDBMaxItemBytes = 400 << 10
	// DynamoDBMaxDepth is how deep DynamoDB lets maps and lists nest
	// (CheckDynamoDBValues enforces it).
	DynamoDBMaxDepth = 32
	// S3MaxKeyBytes bounds the UTF-8 length of an S3 object key, and so of
	// a payload key (Info.MaxBlobKeyBytes).
	S3MaxKeyBytes = 1024
)

// DynamoDBLimits returns an Info whose limits are DynamoDB's and S3's
// (MaxPartitionKeyBytes, MaxSortKeyBytes, MaxDocumentBytes and
// MaxBlobKeyBytes) and whose DynamoDBValues is true; its other fields are
// zero, for the driver to fill in.
func DynamoDBLimits() Info {
	return Info{
		MaxPartitionKeyBytes: DynamoDBMaxPartitionKeyBytes,
		MaxSortKeyBytes:      DynamoDBMaxSortKeyBytes,
		MaxDocumentBytes:     DynamoDBMaxItemBytes,
		MaxBlobKeyBytes:      S3MaxKeyBytes,
		DynamoDBValues:       true,
	}
}
