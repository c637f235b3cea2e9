package conformance

import (
	"fmt"

	"github.com/docblob/docblob/driver"
)

// checkBatches checks GetDocuments and DeleteBlobs: one answer per key, in
// order, a missing document NotFound, a missing payload no error, repeated
// keys answered alike, and empty batches answered with empty slices.
func (c *driverTest) checkBatches() {
	a, b, missing := c.key("batch-a"), c.key("batch-b"), c.key("batch-missing")
	for _, k := range []driver.Key{a, b} {
		if _, _, err := c.put(c.ctx, doc(k, "rev-batch", "batch"), always()); !c.noError("PutDocument", err) {
			return
		}
	}
	keys := []driver.Key{a, missing, b, a}
	call := fmt.Sprintf("GetDocuments(%v)", keys)
	docs, errs := c.d.GetDocuments(c.ctx, keys)
	if len(docs) != len(keys) || len(errs) != len(keys) {
		c.errorf("%s: %d documents and %d errors, want %d of each", call, len(docs), len(errs), len(keys))
	} else {
		for i, k := range keys {
			switch {
			case k == missing:
				if docs[i] != nil {
					c.errorf("%s: document %d is %v, want nil", call, i, docs[i].Key)
				}
				c.wantCode(fmt.Sprintf("%s: key %d", call, i), errs[i], driver.NotFound)
			case errs[i] != nil || docs[i] == nil:
				c.errorf("%s: key %d: document %v, error %v, want the document", call, i, docs[i], errs[i])
			default:
				want, _ := c.get(k)
				c.wantDoc(fmt.Sprintf("%s: key %d", call, i), "the document GetDocument returns", docs[i], want)
			}
		}
		if docs[0] != nil && docs[0] == docs[3] {
			c.errorf("%s: returned one *Document twice; the caller may modify each", call)
		}
	}
	if docs, errs := c.d.GetDocuments(c.ctx, nil); len(docs) != 0 || len(errs) != 0 {
		c.errorf("GetDocuments(nil): %d documents and %d errors, want none", len(docs), len(errs))
	}

	x, y, gone := c.blobKey("batch-x"), c.blobKey("batch-y"), c.blobKey("batch-missing")
	if !c.write(x, []byte("x"), false, nil) || !c.write(y, []byte("y"), false, nil) {
		return
	}
	bkeys := []string{x, gone, y}
	call = fmt.Sprintf("DeleteBlobs(%q)", bkeys)
	berrs := c.d.DeleteBlobs(c.ctx, bkeys)
	if len(berrs) != len(bkeys) {
		c.errorf("%s: %d errors, want %d", call, len(berrs), len(bkeys))
	}
	for i, err := range berrs {
		c.noError(fmt.Sprintf("%s: key %d", call, i), err)
	}
	for _, k := range []string{x, y} {
		_, err := c.d.StatBlob(c.ctx, k)
		c.wantCode(fmt.Sprintf("StatBlob(%q) after %s", k, call), err, driver.NotFound)
	}
	if errs := c.d.DeleteBlobs(c.ctx, nil); len(errs) != 0 {
		c.errorf("DeleteBlobs(nil): %d errors, want none", len(errs))
	}
}
