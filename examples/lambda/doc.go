// Command lambda is an AWS Lambda function that stores uploaded files with
// docblob on S3 and DynamoDB and hands out signed download links. It serves
// an API Gateway HTTP API (payload format 2.0) or a Lambda function URL:
//
//	POST /?owner=alice&name=photos/cat.png   body: the file (Content-Type optional)
//	  → 201 {"owner":"alice","name":"photos/cat.png","size":48213,
//	         "contentType":"image/png","checksum":"crc32c:…","url":"https://…","expires":"…"}
//	GET  /?owner=alice&name=photos/cat.png
//	  → 200, the same with a fresh link
//
// A file is the document File: owner and name are its key, the bytes go to
// S3 as its attachment, and a second POST of the same name replaces the file
// (and deletes the old bytes). owner and name may also be path parameters
// of a route such as POST /files/{owner}/{name}. Failures are HTTP statuses
// with a short JSON message: 400 for a missing or malformed parameter, body
// or Content-Type, 404 for a file that does not exist, 413 for a file over
// MaxFileBytes, 503 when the storage is unavailable or throttles (retry),
// and 500, logged with the details the client is not shown, for the
// deployment's own problems (a missing table, a permission the role lacks).
//
// The example trusts the owner the request names. A real service takes it
// from the caller's identity instead: a JWT authorizer's claim
// (req.RequestContext.Authorizer.JWT.Claims["sub"]) or IAM authentication
// of the function URL.
//
// # Size limit
//
// Lambda refuses a synchronous invocation whose event is over 6 MB, and API
// Gateway and function URLs send a binary body base64-encoded inside the
// event, which makes it a third larger. The function therefore accepts files
// of at most MaxFileBytes, 4 MiB (5.6 MB in base64), and answers 413 above
// it; a larger request never reaches it, as Lambda refuses the invocation.
// Larger files should bypass the function: a direct upload (Store.NewUpload,
// see examples/directupload) sends them straight to S3 with a URL the
// function signs.
//
// # Deploying
//
// Build the bootstrap binary for the provided.al2023 runtime (arm64 or
// x86_64; lambda.norpc leaves out the RPC mode that this runtime does not
// use):
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' \
//	    -tags lambda.norpc -o bootstrap ./examples/lambda
//	zip function.zip bootstrap
//
// Create the table (partition key pk and sort key sk, both strings) and the
// bucket, then the function, with the store's URL in DOCBLOB_STORE (the
// region comes from Lambda's AWS_REGION, the credentials from the role):
//
//	aws dynamodb create-table --table-name files --billing-mode PAY_PER_REQUEST \
//	    --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
//	    --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE
//	aws lambda create-function --function-name files --runtime provided.al2023 \
//	    --architectures arm64 --handler bootstrap --zip-file fileb://function.zip \
//	    --timeout 30 --role arn:aws:iam::ACCOUNT:role/files-function \
//	    --environment 'Variables={DOCBLOB_STORE=s3dynamo://files?bucket=my-files}'
//
// then put an HTTP API (payload format 2.0) or a function URL in front of
// it. Everything main does before lambda.Start runs once per execution
// environment, in Lambda's init phase: it opens the store (no network call)
// and claims its payload namespace (one small S3 read; three requests the
// very first time), so that a wrong bucket or a missing permission fails the
// init with a clear error in the logs rather than every request.
//
// The role needs, on the table: dynamodb:GetItem and dynamodb:PutItem (code
// that deletes documents adds dynamodb:DeleteItem, code that lists them
// dynamodb:Query, Sweep dynamodb:BatchGetItem, Check dynamodb:Scan); on the
// bucket's objects: s3:PutObject, s3:GetObject (the download links are
// signed with the role's credentials, so they can fetch only what the role
// can) and s3:DeleteObject (replaced files, failed writes); on the bucket:
// s3:ListBucket, without which S3 answers 403 instead of 404 for a missing
// object, such as the namespace's owner marker before the first start; and,
// with SSE-KMS, kms:GenerateDataKey and kms:Decrypt on the key. A link
// signed with a role's temporary credentials stops working when they expire,
// which may be before LinkExpiry. Run Store.Sweep from time to time (the
// docblob command's sweep, say) to remove the payloads of writes that failed
// ambiguously or were cut short.
//
// # Cold start
//
// A cold start runs the init, then the first request. TestColdStart
// measures both, calling the handler in-process against MinIO and DynamoDB
// Local on 127.0.0.1, each time in a fresh process, after warming the
// servers (AWS's services are always warm):
//
//	scripts/servers.sh run -- go test -run Cold -v ./examples/lambda/
//
// On a 2-vCPU AMD EPYC shared with other jobs (load average 12), five
// fresh processes, 256 KiB uploads, milliseconds:
//
//	run     init = Open + ClaimNamespace   first POST  first GET   warm POST  warm GET
//	1       85.5 = 82.2 +  3.4                   36.2       25.8        39.8      10.7
//	2       11.2 =  7.4 +  3.9                   73.4       10.7        54.7       7.4
//	3       31.6 = 20.1 + 11.5                  200.1        9.1        44.2       9.1
//	4       17.5 = 11.4 +  6.0                   88.3        7.8        59.7       7.7
//	5       17.6 =  8.8 +  8.8                   28.5       14.0        33.4      11.4
//	median  17.5 = 11.4 +  6.0                   73.4       10.7        44.2       9.1
//
// (warm figures are each the median of five requests). So docblob adds
// little to a cold start: Open makes no request but loads the AWS SDK's
// configuration (most of its typical 7 to 20 ms), the namespace claim is one
// small S3 read, and the first upload costs some tens of milliseconds more
// than a warm one, in new connections and first-run code, though the spread
// on a loaded machine is as large. On AWS, each service's first request also
// pays a TLS handshake, which plain HTTP on loopback does not show. Before
// main runs, the Go runtime and package initialisation take about 12 ms
// (GODEBUG=inittrace=1 ./bootstrap: 5 ms in 218 packages' inits); the
// stripped arm64 binary is 23.5 MB, 7.4 MB zipped: it links the AWS SDK
// and, through gocloud.dev, gRPC and OpenTelemetry.
package main
