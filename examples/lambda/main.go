package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/smithy-go"

	"github.com/docblob/docblob"
	_ "github.com/docblob/docblob/drivers/s3dynamo"
)

// MaxFileBytes is the largest file the function accepts. Lambda refuses a
// synchronous invocation whose event exceeds 6 MB, and API Gateway and
// function URLs send a binary body base64-encoded inside that event, so a
// file of 4 MiB (5.6 MB in base64) leaves room for the headers and the rest
// of the event. Larger files belong in a direct upload (Store.NewUpload),
// which never passes through the function.
const MaxFileBytes = 4 << 20

// LinkExpiry is how long the download links the function returns stay valid.
const LinkExpiry = 15 * time.Minute

// InitTimeout bounds the work done before the first request; Lambda allows
// the init phase 10 seconds.
const InitTimeout = 5 * time.Second

// File is the document: one uploaded file, keyed by its owner and name.
type File struct {
	Owner    string        `docstore:"pk"`
	Name     string        `docstore:"sk"`
	Data     *docblob.Blob `docstore:"data"`             // metadata here, bytes in S3
	Revision any           `docstore:"DocstoreRevision"` // set by Put and Get
}

// fileResponse is the JSON body of a successful request.
type fileResponse struct {
	Owner       string    `json:"owner"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	ContentType string    `json:"contentType"`
	Checksum    string    `json:"checksum"` // algorithm:hex, e.g. crc32c:1a2b3c4d
	URL         string    `json:"url"`
	Expires     time.Time `json:"expires"`
}

// errorResponse is the JSON body of a failed request.
type errorResponse struct {
	Error string `json:"error"`
}

// handler serves the function's requests with one store, opened at init and
// shared by every request the execution environment serves.
type handler struct {
	store *docblob.Store
	log   *slog.Logger
}

// newHandler returns a handler over an open store.
func newHandler(store *docblob.Store) *handler {
	return &handler{store: store, log: slog.Default()}
}

// openHandler does what the function does before its first request: it
// opens the store from its URL (no network call) and claims the store's
// payload namespace, which reads (or, the first time, writes) one small S3
// object, so that a wrong bucket, missing permissions or a namespace that
// belongs to another table stop the function at init with a clear error
// instead of failing requests.
func openHandler(ctx context.Context, storeURL string) (*handler, error) {
	if storeURL == "" {
		return nil, errors.New("DOCBLOB_STORE is not set (for example s3dynamo://files?bucket=my-files)")
	}
	store, err := docblob.Open(ctx, storeURL)
	if err != nil {
		return nil, err
	}
	if err := store.ClaimNamespace(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return newHandler(store), nil
}

func main() {
	// Everything before lambda.Start runs once per execution environment,
	// in Lambda's init phase; the handler then serves request after request.
	ctx, cancel := context.WithTimeout(context.Background(), InitTimeout)
	h, err := openHandler(ctx, os.Getenv("DOCBLOB_STORE"))
	cancel()
	if err != nil {
		slog.Error("init failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.handle)
}

// handle serves one request of an API Gateway HTTP API (payload format
// 2.0) or a Lambda function URL:
//
//	POST ?owner=O&name=N   body: the file; stores it, returns a link
//	GET  ?owner=O&name=N   returns a fresh link to the stored file
//
// owner and name may also come from path parameters, with a route such as
// /files/{owner}/{name}. It reports every failure as an HTTP status with a
// short JSON message, never as a Lambda error, and logs the details of
// server-side failures only.
func (h *handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	if method != http.MethodPost && method != http.MethodGet {
		resp := reply(http.StatusMethodNotAllowed, errorResponse{"method not allowed"})
		resp.Headers["Allow"] = "GET, POST"
		return resp, nil
	}
	owner, name, err := documentKey(req)
	if err != nil {
		return reply(http.StatusBadRequest, errorResponse{err.Error()}), nil
	}
	if method == http.MethodPost {
		return h.upload(ctx, req, owner, name), nil
	}
	return h.link(ctx, owner, name), nil
}

// upload stores the request's body as the file owner/name, replacing any
// earlier file of that name, and returns a download link.
func (h *handler) upload(ctx context.Context, req events.APIGatewayV2HTTPRequest, owner, name string) events.APIGatewayV2HTTPResponse {
	body, status, err := requestBody(req)
	if err != nil {
		return reply(status, errorResponse{err.Error()})
	}
	f := &File{Owner: owner, Name: name, Data: docblob.NewBlobBytes(body, &docblob.BlobOptions{
		Name:        path.Base(name),
		ContentType: header(req, "Content-Type"), // empty: sniffed from the bytes
	})}
	if err := h.store.Put(ctx, f); err != nil {
		return h.failure(ctx, "put", err)
	}
	return h.respond(ctx, http.StatusCreated, f)
}

// link returns a fresh download link to the file owner/name.
func (h *handler) link(ctx context.Context, owner, name string) events.APIGatewayV2HTTPResponse {
	f := &File{Owner: owner, Name: name}
	if err := h.store.Get(ctx, f); err != nil {
		return h.failure(ctx, "get", err)
	}
	if f.Data == nil { // written by another tool without a file
		return reply(http.StatusNotFound, errorResponse{"no such file"})
	}
	return h.respond(ctx, http.StatusOK, f)
}

// respond signs a download link to f's payload and describes f.
func (h *handler) respond(ctx context.Context, status int, f *File) events.APIGatewayV2HTTPResponse {
	expires := time.Now().Add(LinkExpiry)
	u, err := f.Data.SignedURL(ctx, &docblob.SignedURLOptions{Expiry: LinkExpiry})
	if err != nil {
		return h.failure(ctx, "sign", err)
	}
	return reply(status, fileResponse{
		Owner: f.Owner, Name: f.Name, Size: f.Data.Size(), ContentType: f.Data.ContentType(),
		Checksum: checksum(f.Data), URL: u, Expires: expires.UTC().Truncate(time.Second),
	})
}

// checksum names the payload's recorded checksum as algorithm:hex.
func checksum(b *docblob.Blob) string {
	alg, sum := b.Checksum()
	return string(alg) + ":" + sum
}

// failure turns a store error into a response. The client learns what it
// can act on (its request was bad, the file does not exist, try again);
// the error itself, which names tables, buckets and keys, goes to the log
// only, and only for failures on the server's side.
func (h *handler) failure(ctx context.Context, op string, err error) events.APIGatewayV2HTTPResponse {
	status, msg := http.StatusInternalServerError, "internal error"
	switch code := docblob.Code(err); {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		status, msg = http.StatusServiceUnavailable, "timed out, try again"
	case code == docblob.NotFound && !h.isServiceError(err):
		status, msg = http.StatusNotFound, "no such file"
	case code == docblob.InvalidArgument:
		status, msg = http.StatusBadRequest, "invalid request (owner, name or content type)"
	case code == docblob.TooLarge:
		status, msg = http.StatusRequestEntityTooLarge, "owner, name or file too large"
	case code == docblob.Unavailable:
		status, msg = http.StatusServiceUnavailable, "storage unavailable, try again"
	}
	// PermissionDenied (the function's role lacks a permission),
	// FailedPrecondition (the namespace belongs to another table), Corrupt
	// and Unknown are the deployment's problem, not the client's: 500.
	if status >= 500 {
		requestID := ""
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
		h.log.Error("request failed", "op", op, "status", status, "code", docblob.Code(err).String(), "err", err, "requestId", requestID)
	}
	return reply(status, errorResponse{msg})
}

// isServiceError reports whether a NotFound came from the service itself
// rather than from a missing document: on S3 + DynamoDB a missing table or
// bucket is NotFound too, and is the deployment's fault, not a 404.
func (h *handler) isServiceError(err error) bool {
	var apiErr smithy.APIError
	return h.store.ErrorAs(err, &apiErr)
}

// documentKey returns the owner and name a request names, from its path
// parameters or, failing those, its query string. A query parameter given
// twice is refused (API Gateway would join the values with commas).
func documentKey(req events.APIGatewayV2HTTPRequest) (owner, name string, err error) {
	owner, name = req.PathParameters["owner"], req.PathParameters["name"]
	if owner == "" || name == "" {
		q, err := url.ParseQuery(req.RawQueryString)
		if err != nil {
			return "", "", errors.New("malformed query string")
		}
		for _, p := range []string{"owner", "name"} {
			if len(q[p]) > 1 {
				return "", "", fmt.Errorf("%s is given more than once", p)
			}
		}
		owner, name = q.Get("owner"), q.Get("name")
	}
	if owner == "" || name == "" {
		return "", "", errors.New("owner and name are required (?owner=...&name=...)")
	}
	return owner, name, nil
}

// requestBody returns the file a request carries, decoded, with the status
// of the failure if it carries none or too large a one.
func requestBody(req events.APIGatewayV2HTTPRequest) ([]byte, int, error) {
	tooLarge := fmt.Errorf("the file is larger than %d bytes; use a direct upload", MaxFileBytes)
	var body []byte
	if req.IsBase64Encoded {
		if len(req.Body) > base64.StdEncoding.EncodedLen(MaxFileBytes) {
			return nil, http.StatusRequestEntityTooLarge, tooLarge
		}
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, http.StatusBadRequest, errors.New("the body is not valid base64")
		}
	} else {
		body = []byte(req.Body)
	}
	switch {
	case len(body) > MaxFileBytes:
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case len(body) == 0:
		return nil, http.StatusBadRequest, errors.New("the request has no body")
	}
	return body, 0, nil
}

// header returns a request header. API Gateway and function URLs send
// header names in lower case; other callers may not.
func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// reply makes a JSON response.
func reply(status int, body any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(body)
	if err != nil { // the response types always marshal
		panic(err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}
