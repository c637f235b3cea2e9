// Package gocloud is a docblob driver over any gocloud.dev blob bucket and
// docstore collection: payloads in a *blob.Bucket (s3blob, gcsblob,
// azureblob, fileblob, memblob), documents in a *docstore.Collection
// (awsdynamodb, gcpfirestore, mongodocstore, memdocstore). docblob's write
// protocol, Sweep, Check and the conformance suite's guarantees then hold
// on every cloud that gocloud.dev reaches. make test runs the conformance
// suite on memblob and fileblob with memdocstore, on s3blob with
// awsdynamodb (MinIO and DynamoDB Local) and on azureblob with memdocstore
// (Azurite); what gcsblob, gcpfirestore and mongodocstore do with what the
// driver needs, and what testing them would take, is in
// docs/gocloud-backends.md in the repository.
//
//	coll, err := gocloud.MemCollection("pk", "sk")
//	...
//	drv, err := gocloud.New(memblob.OpenBucket(nil), coll, &gocloud.Options{
//		Retries: gocloud.RetriesNone, SettledOnReturn: true,
//	})
//	store, err := docblob.NewStore(drv, nil)
//
// # URL
//
// Importing this package registers the scheme "gocloud" with
// docblob.Open. Its parameters blob and docstore are gocloud.dev URLs,
// query-escaped, opened with blob.OpenBucket and docstore.OpenCollection
// (import the gocloud.dev drivers they name):
//
//	gocloud://NAME?blob=BLOBURL&docstore=DOCSTOREURL
//
//	blob              the bucket's gocloud.dev URL (required)
//	docstore          the collection's gocloud.dev URL (required); it must
//	                  open the collection with revision_field=DocblobCAS and
//	                  the key fields below. docstore=mem:// (nothing more)
//	                  makes a memdocstore collection with MemCollection,
//	                  since memdocstore's URLs name one key field, and
//	                  sets retries=none and Info.SettledOnReturn.
//	partition_key     partition key field (default "pk")
//	sort_key          sort key field (default "sk")
//	no_sort_key=true  documents have a partition key only (sort_key=,
//	                  empty, is an alias)
//	retries           none, counted or possible (see Retries; default
//	                  counted on awsdynamodb, possible elsewhere)
//	sign_urls         true or false (see Options.SignURLs)
//	collection_id     Info.CollectionID
//
// NAME is Info.Collection (default "gocloud"); on awsdynamodb it must be
// the table's name. Unknown parameters, and any parameter given more than
// once, are an error. For example, with memblob and memdocstore:
//
//	gocloud://invoices?blob=mem%3A%2F%2F&docstore=mem%3A%2F%2F
//
// gocloud.dev's dynamodb:// opener makes its own DynamoDB client, without
// DynamoDBAPIOptions, so a store opened from such a URL reports every
// write conflict as Unknown (a Create of an existing document included)
// and confirms every missing document with a GetItem. Open the
// collection with awsdynamodb.OpenCollection (gocloud.dev/docstore/awsdynamodb/v2)
// over a client with DynamoDBAPIOptions, and use New, to have definite
// conflicts:
//
//	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
//		o.APIOptions = append(o.APIOptions, gocloud.DynamoDBAPIOptions)
//	})
//	coll, err := awsdynamodb.OpenCollection(client, "invoices", "pk", "sk",
//		&awsdynamodb.Options{RevisionField: gocloud.DefaultCASField})
//	...
//	drv, err := gocloud.New(bucket, coll, nil)
//
// # Revisions and the extra read
//
// docstore does not return the document a write replaced, which the write
// protocol needs (to delete the payloads the new version no longer
// references). The driver learns it with a compare-and-swap: docblob's
// revision is kept in its own attribute, driver.DefaultRevisionKey
// ("DocstoreRevision"), and the collection is opened with a second
// revision field, DefaultCASField ("DocblobCAS"), that docstore maintains
// and checks. PutDocument with Always or MustMatchRevision, and
// DeleteDocument, read the document, check docblob's condition on what
// they read, then Create (nothing was read), Replace or Delete conditioned
// on the docstore revision read: the write applies only to the exact
// version read, so the version returned is the one it replaced. A write
// that loses a race to another writer reads again and retries (Always, at
// most Options.MaxWriteRounds times) or fails with FailedPrecondition
// (MustMatchRevision). A MustNotExist write is one Create.
//
// Writes and deletes of one document through one Driver take turns, in
// the order they arrive, so they never lose races to each other: only
// writers in other processes (or through other Drivers) can make a write
// read again. Without turns, eight goroutines writing one document through
// one store on DynamoDB Local made one write in 500 lose 14 races in a
// row (and, once, one lose all of the 16 rounds then allowed and fail
// with Unavailable); with them, no write of theirs lost one. Across two stores (four goroutines each) a write
// lost at most 9 races in a row in 1,900 writes, and 11 in 700 with the
// machine's two cores busy with other work: hence the default of 32
// rounds, which a write loses only under contention that never lets up.
// A write that loses them all fails with Unavailable, its error marked
// with driver.ErrNotApplied (nothing it sent was applied), so the Store
// deletes the payloads it uploaded at once rather than leave them to
// Sweep; so is the error of a write whose read fails (the collection
// unreachable, say) before it sends anything, or after every write it
// sent failed its condition definitely.
//
// So every document write that is not a Create costs one document read
// more than on s3dynamo, whose PutItem and DeleteItem return the old item
// (ReturnValues): a Put replacing a document is a Get and a Replace, a
// Delete a Get and a Delete. On backends other than DynamoDB a delete
// costs one more write, an Update that changes nothing, conditioned on the
// revision read (memdocstore and mongodocstore let a Delete with a stale
// revision of a document that another writer has just deleted succeed,
// which would report that writer's delete as this one's). Gets, queries
// and payload operations cost what they cost on s3dynamo. Info states
// these costs (PutDocumentRequests 2, DeleteDocumentRequests 2, or 3 with
// the Update), and the conformance suite counts them on the wire.
//
// # Retries
//
// Whether a failed condition proves that a write was not applied depends
// on whether the collection's client may have sent the write more than
// once: an attempt applied with its response lost, then a re-sent attempt
// failing its condition on the first one's result, would otherwise be
// reported as a definite failure, and the portable layer would delete
// payloads that a committed document references. Options.Retries says
// what the client does: RetriesNone (memdocstore), RetriesCounted (the
// aws-sdk-go-v2 DynamoDB client with DynamoDBAPIOptions, which counts each
// write's attempts) or RetriesPossible (every conflict is Unknown unless
// a re-read finds the write applied: the default for backends other than
// DynamoDB). After more than one attempt, a write whose re-read document
// holds its revision was applied, over the version it was conditioned on;
// a delete conditioned on a revision whose condition failed is Unknown;
// an unconditional delete reads again and deletes what it finds, as if
// it came after the write that made it. The conformance suite's
// LostResponses group checks these on DynamoDB Local, losing responses on
// the wire below the SDK's retryer and writing in between.
//
// # Documents
//
// A document is a docstore document (a map) with the key fields, the two
// revision fields and one field per docblob field. Values that every
// docstore backend keeps exactly are stored as they are; the others as a
// map with one key naming their type: the empty string {"~s": true}
// (awsdynamodb stores "" as NULL), empty bytes {"~b": true}, a Decimal or
// an integer beyond ±2^53 {"~n": "12345678901234567890"} (awsdynamodb
// reads numbers through a float64), and sets {"~ss": [...]},
// {"~ns": [...]}, {"~bs": [...]}. Keys of nested maps that begin with '~'
// are stored with one more '~'. Documents read back in canonical form
// (see driver.Document), alike on every backend. The driver holds
// documents to DynamoDB's rules and limits on every backend: 400 KiB less
// the compare-and-swap field, as driver.DocumentSize counts.
//
// # Queries
//
// gocloud has no query cursor: a partition query is a docstore query with
// an equality on the partition key and one bound on the sort key, ordered
// by sort key (awsdynamodb turns every sort-key filter into a key
// condition, and DynamoDB takes one), and the driver applies the other
// bound and pages by key: a page token is the last key returned. A query
// of every partition (Sweep, Check) is ordered by partition key on
// backends that can order a full query, the documents of each partition
// sorted in the driver, and segments are filtered in the driver; on
// DynamoDB it is a Scan resumed after the last key.
//
// # Payloads
//
// WriteBlob is one blob.Writer with IfNotExist (a payload key is written
// once); a failed write cancels the writer's context, which aborts it.
// The payload's checksum, of the algorithm docblob asks for (CRC32C by
// default), is computed by the driver as the bytes go into the writer,
// and a payload that does not match a checksum known in advance is
// aborted (Corrupt). StatBlob reports a checksum only where the backend
// vouches for one: on s3blob a full-object checksum S3 holds (HeadObject
// with ChecksumMode ENABLED; set Options.Container), on buckets that sign
// no URLs one that WriteBlob verified and kept in the payload's metadata.
// OpenBlob's readers are never Verified: the portable layer hashes every
// whole read.
// Reads are ranged readers, deletes one Delete each (on s3blob with
// Options.Container set one DeleteObject, without the HeadObject that
// Bucket.Delete sends first), listings ListPage.
//
// # Signed URLs
//
// SignedURL goes through Bucket.SignedURL on a bucket that signs URLs
// (Options.SignURLs). On s3blob, where Options.SignURLs is true by
// default, a BeforeSign hook signs If-None-Match: *, the content type,
// length and SHA-256 of an upload and the response headers of a download.
// Every other bucket signs nothing by default, and docblob's localsign
// gives the store signed URLs instead (docblob.Open's sign_url
// parameter), served by the application:
//
//   - memblob and fileblob sign only with a URLSigner.
//   - azureblob signs a SAS, of which BeforeSign reaches only the
//     permissions (*sas.BlobPermissions). A SAS binds no request header,
//     so an upload URL cannot bind the content type, length or SHA-256
//     that docblob's upload URLs carry (azureblob refuses a content type
//     outright); only the create-only condition has a counterpart, the
//     create permission without write, which Azure and Azurite refuse to
//     let replace a blob. Nor does azureblob
//     set a SAS's response-header fields (rsct, rscd), so a download URL
//     cannot carry the Content-Type or Content-Disposition with which
//     docblob serves every payload (see docblob.Blob.SignedURL). Azure
//     needs localsign too; the conformance suite runs on azureblob over
//     Azurite with it.
//
// With Options.SignURLs set on a bucket other than s3blob, the driver
// signs a download only when asked for neither header, and answers
// Unimplemented for uploads and for downloads with headers, as package
// driver asks of a driver that cannot bind them. docblob's
// Blob.SignedURL always asks for a header (the payload's content type, or
// Content-Disposition: attachment), so leave the option unset there.
//
// # Errors
//
// ErrorCode maps gocloud's error codes to docblob's, and corrects two of
// awsdynamodb's: a TransactionInProgressException (InvalidArgument there)
// is Unknown, since the write may have been applied, and a
// ValidationException for an item over DynamoDB's size limit is TooLarge.
// azureblob maps one of Azure's refusals, AuthenticationFailed, to
// PermissionDenied; the others (AuthorizationFailure,
// AuthorizationPermissionMismatch, ...) are Unknown, and so is a bad
// signature on Azurite, which answers it with AuthorizationFailure.
// As reaches the bucket and the collection (**blob.Bucket,
// **docstore.Collection) and, through them, their clients (a
// **container.Client on azureblob); ErrorAs their errors.
package gocloud
