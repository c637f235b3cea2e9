package filestore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestWritesRaceEmptyDirectoryRemoval: deletes remove directories left
// empty while other writes create files below them; no write may fail
// because a parent vanished between its creation and its child's.
func TestWritesRaceEmptyDirectoryRemoval(t *testing.T) {
	d := newTestDriver(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				key := fmt.Sprintf("ns/shared/w%d-%d/f/blob", w, i)
				if _, err := d.WriteBlob(ctx, key, bytes.NewReader([]byte("x")), nil); err != nil {
					errs <- fmt.Errorf("write %s: %w", key, err)
					return
				}
				if err := d.DeleteBlob(ctx, key); err != nil {
					errs <- fmt.Errorf("delete %s: %w", key, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
