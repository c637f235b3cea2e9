package gocloud_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/docblob/docblob/conformance"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/gocloud"
	"github.com/docblob/docblob/internal/testservers"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/docstore"
)

// azureClient returns the client of a fresh, empty container on the Azure
// Blob Storage test server (Azurite), removed when the test ends. Its
// requests go through a transport that refuses any host but loopback.
func azureClient(ctx context.Context, t *testing.T) (*container.Client, error) {
	srv := testservers.AzureBlob(t)
	cred, err := service.NewSharedKeyCredential(srv.Account, srv.Key)
	if err != nil {
		return nil, err
	}
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: loopback{http.DefaultTransport.(*http.Transport).Clone()}},
	}}
	svc, err := service.NewClientWithSharedKeyCredential(srv.Endpoint, cred, opts)
	if err != nil {
		return nil, err
	}
	// Container names: 3 to 63 lower-case letters, digits and '-'.
	c := svc.NewContainerClient(uniqueName("docblob-gocloud"))
	if _, err := c.Create(ctx, nil); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Deleting a container deletes its blobs.
		if _, err := c.Delete(ctx, nil); err != nil {
			t.Logf("deleting container: %v", err)
		}
	})
	return c, nil
}

// azureHarness is an azureblob bucket over a fresh container on Azurite
// and memdocstore collections, by name: there is no Azure document store
// that runs offline. azureblob signs no URL that docblob can use (see the
// package documentation), so its drivers sign none, and localsign signs
// for them, as for memblob and fileblob.
type azureHarness struct {
	memHarness
}

func newAzureHarness(ctx context.Context, t *testing.T) (conformance.Harness, error) {
	c, err := azureClient(ctx, t)
	if err != nil {
		return nil, err
	}
	b, err := azureblob.OpenBucket(ctx, c, nil)
	if err != nil {
		return nil, err
	}
	return &azureHarness{memHarness{bucket: b, colls: map[string]*docstore.Collection{}}}, nil
}

// AsTest: the stores reach azureblob's client and the Azure SDK's errors.
func (h *azureHarness) AsTest() conformance.AsTest {
	return conformance.AsTest{
		Clients: []any{new(*container.Client)},
		Errors:  []conformance.ErrorAs{{Failure: "ReadMissing", Target: new(*azcore.ResponseError)}},
	}
}

func TestConformanceAzure(t *testing.T) {
	testservers.AzureBlob(t) // skip or fail early without the server
	conformance.Run(t, newAzureHarness)
}

func TestDriverAzure(t *testing.T) {
	testservers.AzureBlob(t)
	testDriver(t, newAzureHarness)
}

// TestSignedURLsAzure: a driver told that azureblob signs its URLs
// (Options.SignURLs) signs a plain download, which Azurite serves, and
// refuses with Unimplemented what it cannot bind through azureblob (see
// the package documentation): an upload and a download's response
// headers. Without the option the driver signs nothing.
func TestSignedURLsAzure(t *testing.T) {
	ctx := context.Background()
	c, err := azureClient(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	b, err := azureblob.OpenBucket(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	coll, err := gocloud.MemCollection("pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	open := func(signs *bool) *gocloud.Driver {
		d, err := gocloud.New(b, coll, &gocloud.Options{Retries: gocloud.RetriesNone, SettledOnReturn: true, SignURLs: signs})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const key = "signed/payload"
	if err := b.WriteAll(ctx, key, []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}

	plain := open(nil)
	if plain.Info().SignsURLs {
		t.Error("Info.SignsURLs is true on azureblob without Options.SignURLs")
	}
	if _, err := plain.SignedURL(ctx, key, &driver.SignedURLOptions{Method: http.MethodGet, Expiry: time.Minute}); plain.ErrorCode(err) != driver.Unimplemented {
		t.Errorf("SignedURL without Options.SignURLs: %v, want Unimplemented", err)
	}

	signs := true
	d := open(&signs)
	u, err := d.SignedURL(ctx, key, &driver.SignedURLOptions{Method: http.MethodGet, Expiry: time.Minute})
	if err != nil {
		t.Fatalf("signing a plain download: %v", err)
	}
	if !strings.Contains(u, "sig=") {
		t.Errorf("signed download URL %q carries no SAS signature", u)
	}
	client := &http.Client{Transport: loopback{http.DefaultTransport.(*http.Transport).Clone()}}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Errorf("GET of the signed URL: %s %q %v, want 200 \"hello\"", resp.Status, body, err)
	}

	for name, opts := range map[string]*driver.SignedURLOptions{
		"create-only upload": {Method: http.MethodPut, Expiry: time.Minute, Size: -1, CreateOnly: true},
		"download as a type": {Method: http.MethodGet, Expiry: time.Minute, ContentType: "text/plain"},
		"download as attachment": {Method: http.MethodGet, Expiry: time.Minute,
			ContentDisposition: `attachment; filename="payload"`},
	} {
		if _, err := d.SignedURL(ctx, key, opts); d.ErrorCode(err) != driver.Unimplemented {
			t.Errorf("signing a %s: %v, want Unimplemented", name, err)
		}
	}
}

// TestAzureWrongKey: a write that Azurite refuses for its signature
// (another key) fails, leaves nothing behind, and ErrorAs reaches the
// Azure SDK's error. Its code is Unknown here: Azurite answers a bad
// signature with the error code AuthorizationFailure, where Azure answers
// AuthenticationFailed, the one code that azureblob maps to
// PermissionDenied.
func TestAzureWrongKey(t *testing.T) {
	srv := testservers.AzureBlob(t)
	ctx := context.Background()
	c, err := azureClient(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := container.NewSharedKeyCredential(srv.Account, strings.Repeat("A", 86)+"==")
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := container.NewClientWithSharedKeyCredential(c.URL(), cred, &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: loopback{http.DefaultTransport.(*http.Transport).Clone()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := azureblob.OpenBucket(ctx, wrong, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	coll, err := gocloud.MemCollection("pk", "sk")
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	d, err := gocloud.New(b, coll, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.WriteBlob(ctx, "k", strings.NewReader("x"), nil)
	var rerr *azcore.ResponseError
	if !d.ErrorAs(err, &rerr) || rerr.StatusCode != http.StatusForbidden {
		t.Fatalf("WriteBlob with a wrong key: %v, want a 403 *azcore.ResponseError through ErrorAs", err)
	}
	good, err := azureblob.OpenBucket(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if ok, err := good.Exists(ctx, "k"); ok || err != nil {
		t.Errorf("after the refused write, Exists = %v, %v; want false, nil", ok, err)
	}
}
