package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docblob/docblob"
)

// TestSweep makes an orphan payload (its document removed behind
// docblob's back), finds it with check, and sweeps it once it is older
// than the grace period.
func TestSweep(t *testing.T) {
	for name, mk := range persistentBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			c := cli{t: t, store: b.url}
			p, _ := randomFile(t, "data.bin", 4000)
			c.ok("put", "acme", "keep", "data", p)
			d := c.ok("put", "acme", "orphan", "data", p, "--json").lines(t)[0]
			key := field(t, d, "attachments", "data", "key").(string)
			dropDocument(t, b, docblob.Key{Partition: "acme", Sort: "orphan"})

			r := c.fails(exitFindings, "check", "--json")
			f := ofType(r.lines(t), "finding")
			if len(f) != 1 || f[0]["kind"] != "orphan_payload" || f[0]["payload_key"] != key || f[0]["stored"] == "" {
				t.Errorf("check: %s", r)
			}
			r = c.ok("sweep", "--dry-run", "--json")
			s := r.lines(t)[0]
			if s["young"].(json.Number).String() != "2" || s["deleted"].(json.Number).String() != "0" {
				t.Errorf("sweep --dry-run, everything young: %v", s)
			}
			if b.dir == "" {
				return // S3 keeps the objects' times: nothing is old enough to sweep
			}
			ageFiles(t, filepath.Join(b.dir, "blobs"), 2*time.Hour)
			s = c.ok("sweep", "--dry-run", "--grace", "90m", "--json").lines(t)[0]
			if s["orphans"].(json.Number).String() != "1" || s["deleted"].(json.Number).String() != "0" || s["referenced"].(json.Number).String() != "1" {
				t.Errorf("sweep --dry-run: %v", s)
			}
			r = c.ok("sweep", "--grace", "90m")
			wantContains(t, "sweep", r.stdout, "orphans     1", "deleted     1", "referenced  1")
			wantContains(t, "sweep's progress", r.stderr, "sweep: done in ")
			c.ok("check", "--verify")
			c.ok("stat", "acme", "keep")
		})
	}
}

// dropDocument deletes a document's item or file behind docblob's back,
// leaving its payloads orphaned.
func dropDocument(t *testing.T, b backend, k docblob.Key) {
	t.Helper()
	if b.dir != "" {
		if err := os.Remove(filepath.Join(b.dir, "docs", k.Partition, k.Sort+".json")); err != nil {
			t.Fatal(err)
		}
		return
	}
	ctx := context.Background()
	store, err := docblob.Open(ctx, b.url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var client *dynamodb.Client
	if !store.As(&client) {
		t.Fatal("no DynamoDB client")
	}
	_, err = client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(b.table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: k.Partition}, "sk": &types.AttributeValueMemberS{Value: k.Sort}}})
	if err != nil {
		t.Fatal(err)
	}
}

// ageFiles sets the modification time of every file under dir to d ago.
func ageFiles(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}
