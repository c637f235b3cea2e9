package s3dynamo

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go/logging"
	"github.com/docblob/docblob"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// revisedDoc is a document that carries its revision.
type revisedDoc struct {
	PK       string `docstore:"pk"`
	SK       string `docstore:"sk"`
	Title    string `docstore:"title"`
	Revision any    `docstore:"DocstoreRevision"`
}

// TestFailedConditionsLogNoWarnings makes the writes whose conditions
// fail on DynamoDB Local (which answers them without a checksum header)
// through a client that logs, and checks that the SDK warned of nothing:
// it used to log a checksum mismatch for each (see
// internal/ddbchecksum).
func TestFailedConditionsLogNoWarnings(t *testing.T) {
	var mu sync.Mutex
	var warnings []string
	f := newFixture(t, func(o *Options) {
		o.AWS.Logger = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			if c == logging.Warn {
				mu.Lock()
				warnings = append(warnings, fmt.Sprintf(format, v...))
				mu.Unlock()
			}
		})
	})
	store, err := docblob.NewStore(f.drv, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	doc := &revisedDoc{PK: "p", SK: "s", Title: "first"}
	require.NoError(t, store.Create(ctx, doc))
	stale := *doc
	require.NoError(t, store.Put(ctx, doc))
	assert.Equal(t, docblob.AlreadyExists, docblob.Code(store.Create(ctx, &revisedDoc{PK: "p", SK: "s"})), "Create of an existing document")
	assert.Equal(t, docblob.FailedPrecondition, docblob.Code(store.Put(ctx, &stale)), "Put with a stale revision")
	assert.Equal(t, docblob.FailedPrecondition, docblob.Code(store.Delete(ctx, &stale)), "Delete with a stale revision")

	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, warnings, "the SDK's warnings")
}
