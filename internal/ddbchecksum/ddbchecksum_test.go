package ddbchecksum_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	"github.com/docblob/docblob/internal/ddbchecksum"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// response is what the test server answers to every request.
type response struct {
	status   int
	body     string
	checksum string // "" for none, "right" for the body's CRC32, else as is
}

const conditionFailed = `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`

// TestOnlyWhenSent sends a PutItem to a loopback server answering as
// DynamoDB (Local) does, with the SDK's checksum check as it is and with
// OnlyWhenSent, and counts the warnings the client logs.
func TestOnlyWhenSent(t *testing.T) {
	cases := []struct {
		name            string
		resp            response
		wantConditional bool
		// warnings logged without and with OnlyWhenSent
		wantSDK, wantMended int
	}{
		{"ErrorWithoutChecksum", response{400, conditionFailed, ""}, true, 1, 0},
		{"SuccessWithoutChecksum", response{200, `{}`, ""}, false, 1, 0},
		{"ErrorWithChecksum", response{400, conditionFailed, "right"}, true, 0, 0},
		{"SuccessWithChecksum", response{200, `{}`, "right"}, false, 0, 0},
		{"SuccessWithWrongChecksum", response{200, `{}`, "12345"}, false, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch c.resp.checksum {
				case "":
				case "right":
					w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(c.resp.body))), 10))
				default:
					w.Header().Set("X-Amz-Crc32", c.resp.checksum)
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(c.resp.status)
				fmt.Fprint(w, c.resp.body)
			}))
			defer srv.Close()
			for _, mended := range []bool{false, true} {
				var opts []func(*middleware.Stack) error
				want := c.wantSDK
				if mended {
					opts, want = append(opts, ddbchecksum.OnlyWhenSent), c.wantMended
				}
				warnings, err := putItem(t, srv.URL, opts)
				var ccf *types.ConditionalCheckFailedException
				assert.Equal(t, c.wantConditional, errors.As(err, &ccf), "mended %v: PutItem returned %v", mended, err)
				if !c.wantConditional {
					assert.NoError(t, err, "mended %v", mended)
				}
				assert.Len(t, warnings, want, "mended %v: warnings %q", mended, warnings)
			}
		})
	}
}

// TestOnlyWhenSentLeavesDisabledCheckOff checks that a client whose
// check is turned off gets no check back.
func TestOnlyWhenSentLeavesDisabledCheckOff(t *testing.T) {
	stack := middleware.NewStack("PutItem", nil)
	require.NoError(t, ddbchecksum.OnlyWhenSent(stack))
	assert.Empty(t, stack.Deserialize.List())
}

// putItem sends one PutItem to endpoint and returns the warnings that
// the client logged.
func putItem(t *testing.T, endpoint string, apiOptions []func(*middleware.Stack) error) ([]string, error) {
	t.Helper()
	var mu sync.Mutex
	var warnings []string
	client := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
		APIOptions:       apiOptions,
		Logger: logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
			if c == logging.Warn {
				mu.Lock()
				warnings = append(warnings, strings.TrimSpace(fmt.Sprintf(format, v...)))
				mu.Unlock()
			}
		}),
	})
	_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String("t"),
		Item:      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
	})
	mu.Lock()
	defer mu.Unlock()
	return warnings, err
}
