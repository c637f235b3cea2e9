package docblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
	"github.com/docblob/docblob/internal/fieldtest"
)

// FuzzOwnership checks the ownership rule of the design ("No path lets a
// document read, sign, copy or delete a payload outside its own
// namespace") against documents built from fuzz input: attacker documents
// whose fields look like attachments and point at victims' payloads, at
// other fields' or documents' namespaces, at path tricks or at nothing,
// written through the Store and, as another tool would, straight through
// the driver. The Store then reads, copies, replaces, deletes, queries,
// sweeps and checks them.
//
// The driver (an in-file map-backed driver: memstore imports this package,
// so this internal test cannot import it) records every payload key it is
// asked to open, sign, write or delete, and the harness checks each
// operation's record against the namespaces that operation may touch:
//
//  1. nothing panics;
//  2. during an operation on document K, every payload key read or signed
//     is owned (Store.owns) by the document field the blob came from, every
//     key written is a fresh key of K, every key deleted is owned by a
//     field of K; Get and Query touch no payload at all; no victim payload
//     is written or deleted by anyone, nor read or signed except through
//     the victim's own document;
//  3. a successful Put leaves every attachment of the document in K's own
//     namespace (a copy copies the bytes), and a Put without a revision
//     never fails because a blob copied from another document was "kept";
//  4. Sweep deletes only unreferenced payloads, never a victim's; Check
//     reads only payloads that documents honour;
//  5. at the end every victim document is unchanged and its payloads read
//     back byte for byte.
func FuzzOwnership(f *testing.F) {
	all := make([]byte, opCount)
	for i := range all {
		all[i] = byte(i)
	}
	counting := make([]byte, 256)
	for i := range counting {
		counting[i] = byte(i * 7)
	}
	f.Add("mallory", "1", "mallory", "2", "pdf", "img", "x", []byte(nil), []byte(nil))
	f.Add("mallory", "1", "mallory", "2", "pdf", "img", "x", all, counting)
	// The victim ("a/b", "c") and the attacker ("a", "b/c") print alike as
	// a/b/c: copying the victim's pdf into the attacker document must copy.
	f.Add("a", "b/c", "mallory", "x", "pdf", "data", "../", []byte{opCopyVictim, opGetMap, opDelete}, []byte(nil))
	// The same, with the attacker document written by another tool with
	// the victim's revision and a reference to a victim's payload.
	f.Add("a", "b/c", "mallory", "x", "pdf", "data", "../", []byte{opDirectWrite, opCopyVictim, opGetMap, opReplace, opDelete}, []byte(nil))
	// A document written by another tool that references a victim's
	// payload, read, replaced, swept and deleted.
	f.Add("mallory", "1", "victim", "1", "pdf", "data", "", []byte{opDirectWrite, opGetMap, opGetStruct, opGetGeneral, opQuery, opReplace, opSweep, opCheck, opDelete}, []byte(nil))
	f.Add("victim", "1/", "victim", "2", "pdf", "img", "~", []byte{opPutMap, opQuery, opQuery, opSweep, opCheck, opDelete}, counting[10:])
	f.Add("..", "%2F/..", "%", "~", "pdf", "img/../pdf", "", []byte{opDirectBlob, opDirectWrite, opGetMap, opGetStruct, opGetGeneral, opReplace, opCopy, opDelete}, counting[50:])
	f.Add("victim%2F1", "x", "victim", "1%2F", "data", "pdf", "victim.docblob/victim/1/pdf/", []byte{opDirectWrite, opDirectWrite, opGetMap, opCopy, opSweep, opCheck}, counting[100:])
	f.Add("mallory", "1", "mallory", "2", "pdf", "img", "x", []byte{opDirectBlob, opDirectWrite, opGetMap, opGetStruct, opCopy, opReplace, opCreate, opDelete, opSweep, opCheck}, []byte{0, 0, 0, 20, 0, 1, 0, 2, 1, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, pk, sk, pk2, sk2, fieldA, fieldB, junk string, ops, params []byte) {
		if len(ops) == 0 {
			ops = ownDefaultOps
		}
		c := newOwnCase(t, params)
		c.fieldNames = []string{"pdf", "img", "data", fieldA, fieldB, junk}
		c.junk = junk
		c.targets = c.attackerKeys(pk, sk, pk2, sk2)
		for _, op := range ops[:min(len(ops), 32)] {
			c.step(int(op) % opCount)
		}
		c.sweep()
		c.check(true)
		c.verifyVictims()
	})
}

// The operations of a fuzz program, one byte each; their parameters come
// from another input.
const (
	opPutMap = iota
	opDirectWrite
	opDirectBlob
	opGetMap
	opGetStruct
	opGetGeneral
	opCopy
	opReplace
	opDelete
	opQuery
	opSweep
	opCheck
	opCopyVictim
	opCreate
	opCount
)

// ownDefaultOps exercises every operation, for an empty program.
var ownDefaultOps = []byte{opPutMap, opDirectBlob, opDirectWrite, opGetMap, opGetStruct, opGetGeneral,
	opCopy, opCopyVictim, opReplace, opQuery, opCreate, opDelete, opSweep, opCheck}

// ownInput hands out the parameter bytes of a fuzz program; past their end
// it gives zeros.
type ownInput struct {
	b []byte
	i int
}

func (in *ownInput) byte() byte {
	if in.i >= len(in.b) {
		return 0
	}
	x := in.b[in.i]
	in.i++
	return x
}

func (in *ownInput) n(k int) int { return int(in.byte()) % k }

// ownOwner is a document field: the namespace its payloads live in.
type ownOwner struct {
	key   driver.Key
	field string
}

// ownVictim is a document the attacker must not be able to touch.
type ownVictim struct {
	doc      *driver.Document  // as stored after setup
	payloads map[string][]byte // field to payload bytes
}

// ownSrc is a stored *Blob the harness obtained, and the document field it
// was obtained from.
type ownSrc struct {
	b     *Blob
	owner ownOwner
}

type ownCase struct {
	t          *testing.T
	ctx        context.Context
	s          *Store
	d          *ownDriver
	in         *ownInput
	victims    []*ownVictim
	victimKeys map[string]ownOwner // victim payload key to its owner
	targets    []driver.Key        // the attacker documents
	fieldNames []string
	junk       string
	blobs      []ownSrc // stored blobs obtained so far
	raw        []string // payload keys the attacker wrote straight to the driver
}

func newOwnCase(t *testing.T, params []byte) *ownCase {
	c := &ownCase{t: t, ctx: context.Background(), d: newOwnDriver(), in: &ownInput{b: params}, victimKeys: map[string]ownOwner{}}
	s, err := NewStore(c.d, &Options{InlineThreshold: 16, OnCleanupError: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c.s = s
	c.setupVictims()
	return c
}

// setupVictims stores the victim documents, with payloads inline and not,
// written from bytes and streamed.
func (c *ownCase) setupVictims() {
	type payload struct {
		field  string
		data   []byte
		stream bool
	}
	for _, v := range []struct {
		pk, sk   string
		payloads []payload
	}{
		{"a/b", "c", []payload{{"pdf", []byte("<html><script>alert(1)</script></html>"), false}, {"data", []byte("victim zero, data field"), true}}},
		{"victim", "1", []payload{{"pdf", []byte("%PDF-1.4 victim one: forty bytes long.."), false}, {"img", []byte("GIF89a:)"), false}}},
		{"..", "%2F", []payload{{"pdf", []byte("victim two: twenty-four"), true}, {"data", bytes.Repeat([]byte("v2"), 25), false}}},
		{"victim", "1/pdf", []payload{{"img", []byte("victim three's image, 33 bytes.."), false}}},
	} {
		doc := map[string]any{"pk": v.pk, "sk": v.sk, "note": "victim " + v.pk}
		want := map[string][]byte{}
		for _, p := range v.payloads {
			if p.stream {
				doc[p.field] = NewBlob(io.MultiReader(bytes.NewReader(p.data)), nil)
			} else {
				doc[p.field] = NewBlobBytes(p.data, nil)
			}
			want[p.field] = p.data
		}
		if err := c.s.Put(c.ctx, doc); err != nil {
			c.t.Fatalf("setting up victim %q/%q: %v", v.pk, v.sk, err)
		}
		key := driver.Key{Partition: v.pk, Sort: v.sk}
		for _, p := range v.payloads {
			if k := doc[p.field].(*Blob).Key(); k != "" {
				c.victimKeys[k] = ownOwner{key, p.field}
			}
		}
		c.victims = append(c.victims, &ownVictim{doc: c.d.doc(key), payloads: want})
	}
	c.d.take()
}

// attackerKeys returns the two attacker document keys, made different from
// every victim's and from each other.
func (c *ownCase) attackerKeys(pk, sk, pk2, sk2 string) []driver.Key {
	keys := []driver.Key{{Partition: pk, Sort: sk}, {Partition: pk2, Sort: sk2}}
	for i := range keys {
		for c.isVictim(keys[i]) || (i == 1 && keys[1] == keys[0]) {
			keys[i].Sort += "~"
		}
	}
	return keys
}

func (c *ownCase) isVictim(k driver.Key) bool {
	return slices.ContainsFunc(c.victims, func(v *ownVictim) bool { return v.doc.Key == k })
}

func (c *ownCase) target() driver.Key { return c.targets[c.in.n(len(c.targets))] }

func (c *ownCase) pick(names []string) string { return names[c.in.n(len(names))] }

// fieldName picks an attachment field name from the fuzz input.
func (c *ownCase) fieldName() string { return c.pick(c.fieldNames) }

// validKey reports whether the Store accepts k as a document key.
func validKey(k driver.Key) bool {
	return validateKeyPart("pk", k.Partition, 2048) == nil && validateKeyPart("sk", k.Sort, 1024) == nil
}

// ownID returns a string shaped like a payload id, derived from n.
func ownID(n byte, salt string) string {
	sum := sha256.Sum256([]byte{n})
	const digits = "0123456789abcdefghijklmnopqrstuv"
	var b [26]byte
	for i := range b {
		b[i] = digits[(sum[i]^byte(len(salt)))%32]
	}
	return string(b[:])
}

// victimKeyList returns the victims' payload keys in a fixed order.
func (c *ownCase) victimKeyList() []string {
	var keys []string
	for k := range c.victimKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// payloadKey picks the key of a forged attachment of field in document k.
func (c *ownCase) payloadKey(k driver.Key, field string) string {
	vkeys := c.victimKeyList()
	vk := vkeys[c.in.n(len(vkeys))]
	vo := c.victimKeys[vk]
	id := ownID(c.in.byte(), field)
	switch c.in.n(12) {
	case 0:
		return vk
	case 1:
		return c.s.docPrefix(k, field) + id
	case 2:
		if len(c.raw) > 0 {
			return c.raw[c.in.n(len(c.raw))]
		}
		return c.s.docPrefix(k, field) + id
	case 3:
		return c.s.docPrefix(k, c.fieldName()) + id
	case 4:
		return c.s.docPrefix(vo.key, vo.field) + id
	case 5:
		return c.s.docPrefix(k, field) + vk[strings.LastIndexByte(vk, '/')+1:]
	case 6:
		return c.s.docPrefix(k, field) + "../../" + strings.TrimPrefix(vk, c.s.Namespace())
	case 7:
		return c.s.docPrefix(k, field) + id + "/../" + strings.TrimPrefix(vk, c.s.docPrefix(k, field))
	case 8:
		return c.s.Namespace() + c.junk
	case 9:
		return []string{vk + "/", " " + vk, strings.ToUpper(vk), vk + "\x00", "/" + vk, "./" + vk}[c.in.n(6)]
	case 10:
		return c.junk
	default:
		return c.s.docPrefix(driver.Key{Partition: k.Partition + "/" + k.Sort}, field) + id
	}
}

// attachment returns an attachment-shaped map for field of document k.
func (c *ownCase) attachment(k driver.Key, field string) map[string]any {
	m := map[string]any{}
	switch c.in.n(8) {
	case 0, 1, 2, 3:
		m[attach.AttrVersion] = attach.Version
	case 4:
		m[attach.AttrVersion] = float64(attach.Version)
	case 5:
		m[attach.AttrVersion] = "1"
	case 6:
		m[attach.AttrVersion] = int64(2)
	default:
		m[attach.AttrVersion] = nil
	}
	key := c.payloadKey(k, field)
	data, known := c.d.blobData(key)
	// Zero parameters give a well-formed attachment with a key.
	inline := c.in.n(6) == 5
	switch {
	case inline:
		m[attach.AttrData] = []byte(c.junk)
		data, known = []byte(c.junk), true
	case c.in.n(10) != 9:
		m[attach.AttrKey] = key
	}
	sizes := []any{int64(len(data)), int64(0), int64(len(data) + 1), int64(1 << 20), int64(math.MaxInt64),
		int64(1 << 50), int64(-1), 3.5, "3", float64(len(data)), int64(len(data) - 1), nil}
	if !known {
		sizes[0] = int64(c.in.byte())
	}
	m[attach.AttrSize] = sizes[c.in.n(len(sizes))]
	sum := sha256.Sum256(data)
	sums := []any{hex.EncodeToString(sum[:]), strings.Repeat("00", 32), strings.ToUpper(hex.EncodeToString(sum[:])), "zz", hex.EncodeToString(sum[:16]), int64(1)}
	m[attach.AttrSHA256] = sums[c.in.n(len(sums))]
	switch c.in.n(6) {
	case 0:
		m[attach.AttrContentType] = "text/html"
	case 1:
		m[attach.AttrContentType] = "image/svg+xml"
	case 2:
		m[attach.AttrContentType] = "application/pdf"
	case 3:
		m[attach.AttrContentType] = int64(7)
	}
	extra := c.in.byte()
	if extra&1 != 0 {
		m[attach.AttrBucket] = "other-bucket"
	}
	if extra&2 != 0 {
		m[attach.AttrName] = "cv.html"
	}
	if extra&4 != 0 {
		m[attach.AttrCreated] = []any{"2026-01-01T00:00:00Z", "yesterday", int64(0)}[c.in.n(3)]
	}
	if extra&8 != 0 {
		m[attach.AttrMetadata] = map[string]any{"k": []any{"v", int64(1)}[c.in.n(2)]}
	}
	if extra&16 != 0 && !inline {
		m[attach.AttrData] = []byte(c.junk) // both key and data
	}
	if extra&32 != 0 {
		m[attach.AttrETag] = c.junk
	}
	return m
}

// value returns a field value for a document written through the driver:
// mostly attachment-shaped, sometimes hidden deeper or plain data.
func (c *ownCase) value(k driver.Key, field string) any {
	switch c.in.n(8) {
	case 0, 1, 2, 3, 4:
		return c.attachment(k, field)
	case 5:
		return map[string]any{"inner": c.attachment(k, field)}
	case 6:
		return []any{c.attachment(k, field), c.junk}
	default:
		return c.junk
	}
}

// newBlob returns a new attachment from the fuzz input.
func (c *ownCase) newBlob() *Blob {
	n := c.in.n(48)
	data := bytes.Repeat([]byte(c.junk+"<svg>"), n/5+1)[:n]
	opts := &BlobOptions{Name: c.junk, ContentType: []string{"", "application/pdf", "text/html", "image/png"}[c.in.n(4)]}
	switch c.in.n(3) {
	case 0:
		return NewBlobBytes(data, opts)
	case 1:
		return NewBlob(bytes.NewReader(data), opts)
	default:
		return NewBlob(io.MultiReader(bytes.NewReader(data)), opts)
	}
}

// docFields builds the fields of an attacker document for Put: forged
// attachments, new blobs, blobs obtained earlier, plain data.
func (c *ownCase) docFields(k driver.Key, m map[string]any, sources map[*Blob]ownOwner) {
	for range 1 + c.in.n(4) {
		field := c.fieldName()
		switch c.in.n(6) {
		case 0, 1:
			m[field] = c.value(k, field)
		case 2:
			m[field] = c.newBlob()
		case 3:
			if len(c.blobs) > 0 {
				src := c.blobs[c.in.n(len(c.blobs))]
				m[field], sources[src.b] = src.b, src.owner
			}
		case 4:
			m[field] = nil
		default:
			m[field] = c.junk
		}
	}
}

// audit checks the payload keys the driver saw during one operation
// against the namespaces that operation may read (or sign), write and
// delete.
func (c *ownCase) audit(what string, read, write, del []ownOwner) {
	c.t.Helper()
	marker := c.s.Namespace() + attach.OwnerMarker
	for _, a := range c.d.take() {
		if a.key == marker && (a.method == "OpenBlob" || a.method == "WriteBlob") {
			continue
		}
		var allowed []ownOwner
		switch a.method {
		case "OpenBlob", "SignedURL":
			allowed = read
		case "StatBlob":
			// A read of metadata: of a payload the operation may read, or
			// of one it may write (an upload being committed).
			allowed = append(slices.Clone(read), write...)
		case "WriteBlob":
			allowed = write
		case "DeleteBlob":
			allowed = del
		}
		if !slices.ContainsFunc(allowed, func(o ownOwner) bool { return c.s.owns(o.key, o.field, a.key) }) {
			c.t.Fatalf("%s: %s(%q) is outside every namespace it may touch %v", what, a.method, a.key, allowed)
		}
		if v, ok := c.victimKeys[a.key]; ok && (a.method == "WriteBlob" || a.method == "DeleteBlob" || !slices.Contains(read, v)) {
			c.t.Fatalf("%s: %s of victim payload %q (of %v)", what, a.method, a.key, v)
		}
	}
	if bad := c.d.violations(); len(bad) > 0 {
		c.t.Fatalf("%s: driver contract violated: %v", what, bad)
	}
}

func (c *ownCase) step(op int) {
	switch op {
	case opPutMap:
		k := c.target()
		m := map[string]any{}
		sources := map[*Blob]ownOwner{}
		c.docFields(k, m, sources)
		c.put("put map", k, m, sources, false)
	case opDirectWrite:
		k := c.target()
		var rev string
		switch c.in.n(4) {
		case 0:
			rev = c.victims[c.in.n(len(c.victims))].doc.Revision
		case 1:
			if other := c.d.doc(c.target()); other != nil {
				rev = other.Revision
			}
		case 2:
		default:
			rev = ownID(c.in.byte(), "rev")
		}
		fields := map[string]any{}
		for range 1 + c.in.n(4) {
			field := c.fieldName()
			if field == "pk" || field == "sk" || field == "DocstoreRevision" {
				continue
			}
			fields[field] = c.value(k, field)
		}
		c.d.putRaw(&driver.Document{Key: k, Revision: rev, Fields: fields})
	case opDirectBlob:
		k := c.target()
		key := c.s.docPrefix(k, c.fieldName()) + ownID(c.in.byte(), "raw")
		c.d.writeRaw(key, bytes.Repeat([]byte("r"), c.in.n(40)))
		c.raw = append(c.raw, key)
	case opGetMap:
		c.getMap(c.target())
	case opGetStruct:
		k := c.target()
		doc := &ownDoc{PK: k.Partition, SK: k.Sort}
		err := c.s.Get(c.ctx, doc)
		c.audit("get struct", nil, nil, nil)
		if err == nil {
			c.collect(k, map[string]*Blob{"pdf": doc.PDF, "img": doc.Img})
			if b, ok := doc.Data.(*Blob); ok {
				c.collect(k, map[string]*Blob{"data": b})
			}
		}
	case opGetGeneral:
		k := c.target()
		doc := &ownGeneralDoc{PK: k.Partition, SK: k.Sort}
		err := c.s.Get(c.ctx, doc)
		c.audit("get struct (general path)", nil, nil, nil)
		if err == nil {
			c.collect(k, map[string]*Blob{"pdf": doc.PDF, "img": doc.Img, "data": doc.Data})
		}
	case opCopy:
		k := c.target()
		m := map[string]any{}
		sources := map[*Blob]ownOwner{}
		for range 1 + c.in.n(3) {
			if len(c.blobs) == 0 {
				break
			}
			src := c.blobs[c.in.n(len(c.blobs))]
			field := c.fieldName()
			m[field], sources[src.b] = src.b, src.owner
		}
		c.put("copy", k, m, sources, false)
	case opReplace:
		k := c.target()
		m := c.getMap(k)
		if m == nil {
			return
		}
		sources := map[*Blob]ownOwner{}
		for field, v := range m {
			if b, ok := v.(*Blob); ok {
				sources[b] = ownOwner{k, field}
			}
		}
		names := sortedKeys(m)
		for range c.in.n(4) {
			field := c.pick(append(names, c.fieldName()))
			if field == "pk" || field == "sk" {
				continue
			}
			switch c.in.n(5) {
			case 0:
				delete(m, field)
			case 1:
				m[field] = nil
			case 2:
				m[field] = c.newBlob()
			case 3:
				m[field] = c.value(k, field)
			default:
				if len(c.blobs) > 0 {
					src := c.blobs[c.in.n(len(c.blobs))]
					m[field], sources[src.b] = src.b, src.owner
				}
			}
		}
		if c.in.n(3) == 0 {
			delete(m, "DocstoreRevision")
		}
		c.put("replace", k, m, sources, false)
	case opDelete:
		k := c.target()
		prev := c.d.doc(k)
		m := map[string]any{"pk": k.Partition, "sk": k.Sort}
		if c.in.n(2) == 0 && prev != nil {
			m["DocstoreRevision"] = prev.Revision
		}
		err := c.s.Delete(c.ctx, m)
		c.audit(fmt.Sprintf("delete %q", k), nil, nil, c.ownersOf(k, prev))
		if err == nil && validKey(k) && c.d.doc(k) != nil {
			c.t.Fatalf("delete %q succeeded but the document is still there", k)
		}
	case opQuery:
		k := c.target()
		q := &Query{Partition: k.Partition, Descending: c.in.n(2) == 0, Limit: c.in.n(4)}
		switch c.in.n(4) {
		case 1:
			q.Sort = SortPrefix(k.Sort)
		case 2:
			q.Sort = SortBetween("", k.Sort)
		case 3:
			q.Sort = SortGreaterOrEqual(k.Sort)
		}
		useStruct := c.in.n(2) == 0
		it := c.s.Query(c.ctx, q)
		for range 16 {
			var fields map[string]*Blob
			var got driver.Key
			if useStruct {
				doc := &ownDoc{}
				if err := it.Next(doc); err != nil {
					break
				}
				got = driver.Key{Partition: doc.PK, Sort: doc.SK}
				fields = map[string]*Blob{"pdf": doc.PDF, "img": doc.Img}
			} else {
				doc := map[string]any{}
				if err := it.Next(doc); err != nil {
					break
				}
				got = driver.Key{Partition: doc["pk"].(string), Sort: doc["sk"].(string)}
				fields = blobFields(doc)
			}
			c.audit("query", nil, nil, nil)
			c.collect(got, fields)
		}
		c.audit("query", nil, nil, nil)
	case opSweep:
		c.sweep()
	case opCheck:
		c.check(c.in.n(2) == 0)
	case opCopyVictim:
		k := c.target()
		v := c.victims[c.in.n(len(c.victims))]
		vm := c.getMap(v.doc.Key)
		vfield := c.pick(sortedKeys(blobFields(vm)))
		field := vfield
		if c.in.n(2) == 1 {
			field = c.fieldName()
		}
		if field == "" || field == "pk" || field == "sk" || field == "DocstoreRevision" {
			field = "pdf"
		}
		b := vm[vfield].(*Blob)
		m := map[string]any{field: b}
		c.put("copy of a victim's blob", k, m, map[*Blob]ownOwner{b: {v.doc.Key, vfield}}, true)
		if got := c.getMap(k); got != nil && validKey(k) {
			nb, ok := got[field].(*Blob)
			if !ok {
				c.t.Fatalf("copy of victim %q field %q into %q field %q: Get gives %T", v.doc.Key, vfield, k, field, got[field])
			}
			data, err := nb.ReadAll(c.ctx)
			c.audit("read a copy", []ownOwner{{k, field}}, nil, nil)
			if err != nil || !bytes.Equal(data, v.payloads[vfield]) {
				c.t.Fatalf("copy of victim %q field %q into %q field %q reads %q, %v; want %q", v.doc.Key, vfield, k, field, data, err, v.payloads[vfield])
			}
		}
	case opCreate:
		k := c.target()
		field := c.fieldName()
		m := map[string]any{field: c.newBlob()}
		c.put("create", k, m, nil, false)
	}
}

// put Puts (or, for "create", Creates) the map document m with key k and
// checks what it touched and what it stored. sources gives the document
// field each stored *Blob in m came from. If mustSucceed, a valid key must
// be accepted.
func (c *ownCase) put(what string, k driver.Key, m map[string]any, sources map[*Blob]ownOwner, mustSucceed bool) {
	c.t.Helper()
	m["pk"], m["sk"] = k.Partition, k.Sort
	prev := c.d.doc(k)
	var read []ownOwner
	for f, v := range m {
		if b, ok := v.(*Blob); ok {
			read = append(read, ownOwner{k, f})
			if o, ok := sources[b]; ok {
				read = append(read, o)
			}
		}
	}
	mine := c.ownersOf(k, &driver.Document{Fields: m})
	var err error
	if what == "create" {
		err = c.s.Create(c.ctx, m)
	} else {
		err = c.s.Put(c.ctx, m)
	}
	what = fmt.Sprintf("%s %q", what, k)
	c.audit(what, read, mine, append(mine, c.ownersOf(k, prev)...))
	_, hasRev := m["DocstoreRevision"]
	switch {
	case err == nil:
	case mustSucceed && validKey(k):
		c.t.Fatalf("%s: %v", what, err)
	case Code(err) == FailedPrecondition && !hasRev:
		// Only a blob read from this very field of this document (and
		// kept, at the revision it was read at) may condition a Put that
		// names no revision; blobs from elsewhere are copied.
		kept := false
		for f, v := range m {
			if b := asBlob(v); b != nil && b.Stored() && !b.Inline() && sources[b] == (ownOwner{k, f}) {
				kept = true
			}
		}
		if !kept {
			c.t.Fatalf("%s: %v, although no revision was given and no field keeps a blob of its own", what, err)
		}
		return
	default:
		return
	}
	stored := c.d.doc(k)
	if stored == nil {
		c.t.Fatalf("%s succeeded but stored nothing", what)
	}
	got := map[string]*Blob{}
	for f, v := range m {
		b, ok := v.(*Blob)
		if !ok {
			continue
		}
		ref, err := attach.Decode(stored.Fields[f])
		if err != nil {
			c.t.Fatalf("%s: field %q holds a *Blob but is stored as %v: %v", what, f, stored.Fields[f], err)
		}
		if !ref.IsInline && !c.s.owns(k, f, ref.Key) {
			c.t.Fatalf("%s: field %q is stored with payload %q, outside the document's own namespace %q", what, f, ref.Key, c.s.docPrefix(k, f))
		}
		if !b.Stored() || b.Key() != ref.Key {
			c.t.Fatalf("%s: field %q: the caller's blob has key %q (stored %v), the document %q", what, f, b.Key(), b.Stored(), ref.Key)
		}
		got[f] = b
	}
	c.collect(k, got)
}

func asBlob(v any) *Blob {
	b, _ := v.(*Blob)
	return b
}

// ownersOf returns the fields of doc (nil for none) as owners in document
// k.
func (c *ownCase) ownersOf(k driver.Key, doc *driver.Document) []ownOwner {
	if doc == nil {
		return nil
	}
	var owners []ownOwner
	for f := range doc.Fields {
		owners = append(owners, ownOwner{k, f})
	}
	return owners
}

// getMap Gets document k into a map and exercises the blobs it holds. It
// returns nil if the Get fails.
func (c *ownCase) getMap(k driver.Key) map[string]any {
	c.t.Helper()
	m := map[string]any{"pk": k.Partition, "sk": k.Sort}
	err := c.s.Get(c.ctx, m)
	c.audit(fmt.Sprintf("get map %q", k), nil, nil, nil)
	if err != nil {
		return nil
	}
	c.collect(k, blobFields(m))
	return m
}

// blobFields returns the *Blob fields of a map document.
func blobFields(m map[string]any) map[string]*Blob {
	out := map[string]*Blob{}
	for f, v := range m {
		if b, ok := v.(*Blob); ok {
			out[f] = b
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// collect exercises the stored blobs that fields of document k hold, and
// keeps them for later copies.
func (c *ownCase) collect(k driver.Key, fields map[string]*Blob) {
	c.t.Helper()
	for _, f := range sortedKeys(fields) {
		b := fields[f]
		if b == nil || !b.Stored() {
			continue
		}
		o := ownOwner{k, f}
		c.exercise(b, o)
		if len(c.blobs) < 16 {
			c.blobs = append(c.blobs, ownSrc{b, o})
		}
	}
}

// exercise reads and signs a stored blob of document field o: every
// payload key touched must be o's.
func (c *ownCase) exercise(b *Blob, o ownOwner) {
	c.t.Helper()
	what := fmt.Sprintf("blob of %q field %q", o.key, o.field)
	read := []ownOwner{o}
	data, rerr := b.ReadAll(c.ctx)
	c.audit(what+": ReadAll", read, nil, nil)
	if r, err := b.Open(c.ctx); err == nil {
		io.Copy(io.Discard, io.LimitReader(r, 1<<20))
		r.Close()
	}
	c.audit(what+": Open", read, nil, nil)
	if size := b.Size(); size >= 0 {
		off := min(int64(c.in.byte()), size)
		if r, err := b.NewRangeReader(c.ctx, off, int64(c.in.byte())-128); err == nil {
			io.Copy(io.Discard, io.LimitReader(r, 1<<20))
			r.Close()
		}
		c.audit(what+": NewRangeReader", read, nil, nil)
	}
	b.CopyTo(c.ctx, io.Discard)
	c.audit(what+": CopyTo", read, nil, nil)
	opts := &SignedURLOptions{}
	switch c.in.n(4) {
	case 1:
		opts.ContentType = "text/html"
	case 2:
		opts.ContentDisposition = "inline"
	case 3:
		opts.AllowActiveContent = true
	}
	_, serr := b.SignedURL(c.ctx, opts)
	c.audit(what+": SignedURL", read, nil, nil)
	if serr == nil && !opts.AllowActiveContent {
		so := c.d.lastSigned()
		if ct := b.ContentType(); (!inlineSafe(ct) || !inlineSafe(so.ContentType)) && !isAttachment(so.ContentDisposition) {
			c.t.Fatalf("%s: signed URL for content type %q (served as %q) with Content-Disposition %q", what, ct, so.ContentType, so.ContentDisposition)
		}
	}
	if v := c.victimOf(o.key); v != nil {
		if want := v.payloads[o.field]; rerr != nil || !bytes.Equal(data, want) {
			c.t.Fatalf("%s: ReadAll = %q, %v; want %q", what, data, rerr, want)
		}
	}
}

func isAttachment(disposition string) bool {
	d, _, err := mime.ParseMediaType(disposition)
	return err == nil && d == "attachment"
}

func (c *ownCase) victimOf(k driver.Key) *ownVictim {
	for _, v := range c.victims {
		if v.doc.Key == k {
			return v
		}
	}
	return nil
}

// honoured returns the payload keys that stored documents reference and
// the store honours, computed from the driver's state.
func (c *ownCase) honoured() map[string]bool {
	keys := map[string]bool{}
	for _, doc := range c.d.docList() {
		for f, v := range doc.Fields {
			if !attach.Is(v) {
				continue
			}
			if ref, err := attach.Decode(v); err == nil && !ref.IsInline && c.s.owns(doc.Key, f, ref.Key) {
				keys[ref.Key] = true
			}
		}
	}
	return keys
}

// sweep runs Sweep over payloads that all look old, and checks that it
// deleted only unreferenced payloads, never a victim's.
func (c *ownCase) sweep() {
	c.t.Helper()
	c.d.take()
	refs := c.honoured()
	if _, err := c.s.Sweep(c.ctx, nil); err != nil {
		c.t.Fatalf("sweep: %v", err)
	}
	marker := c.s.Namespace() + attach.OwnerMarker
	for _, a := range c.d.take() {
		switch {
		case a.key == marker && a.method != "DeleteBlob":
		case a.method != "DeleteBlob":
			c.t.Fatalf("sweep: %s(%q)", a.method, a.key)
		case refs[a.key]:
			c.t.Fatalf("sweep deleted %q, which a document references", a.key)
		case !strings.HasPrefix(a.key, c.s.Namespace()):
			c.t.Fatalf("sweep deleted %q, outside the namespace %q", a.key, c.s.Namespace())
		}
		if v, ok := c.victimKeys[a.key]; ok {
			c.t.Fatalf("sweep deleted victim payload %q (of %v)", a.key, v)
		}
	}
	for k := range c.victimKeys {
		if _, ok := c.d.blobData(k); !ok {
			c.t.Fatalf("victim payload %q is gone after sweep", k)
		}
	}
}

// check runs Check and verifies it reads only honoured payloads and
// changes nothing.
func (c *ownCase) check(verify bool) {
	c.t.Helper()
	c.d.take()
	refs := c.honoured()
	for _, err := range c.s.Check(c.ctx, &CheckOptions{VerifyChecksums: verify, BatchSize: 1 + c.in.n(4)}) {
		if err != nil {
			c.t.Fatalf("check: %v", err)
		}
	}
	marker := c.s.Namespace() + attach.OwnerMarker
	for _, a := range c.d.take() {
		switch {
		case a.key == marker && a.method != "DeleteBlob":
		case a.method != "OpenBlob" && a.method != "StatBlob" || !refs[a.key]:
			c.t.Fatalf("check: %s(%q), not a read or stat of a payload a document honours", a.method, a.key)
		}
	}
}

// verifyVictims checks that the victim documents are as they were stored
// and that their payloads read back.
func (c *ownCase) verifyVictims() {
	c.t.Helper()
	for _, v := range c.victims {
		got := c.d.doc(v.doc.Key)
		if got == nil || got.Revision != v.doc.Revision || !fieldtest.Equal(got.Fields, v.doc.Fields) {
			c.t.Fatalf("victim %q changed: %+v, was %+v", v.doc.Key, got, v.doc)
		}
		m := map[string]any{"pk": v.doc.Key.Partition, "sk": v.doc.Key.Sort}
		if err := c.s.Get(c.ctx, m); err != nil {
			c.t.Fatalf("get victim %q: %v", v.doc.Key, err)
		}
		for f, want := range v.payloads {
			b, ok := m[f].(*Blob)
			if !ok {
				c.t.Fatalf("victim %q field %q is %T", v.doc.Key, f, m[f])
			}
			data, err := b.ReadAll(c.ctx)
			if err != nil || !bytes.Equal(data, want) {
				c.t.Fatalf("victim %q field %q reads %q, %v; want %q", v.doc.Key, f, data, err, want)
			}
		}
		c.audit("read victims", c.ownersOf(v.doc.Key, v.doc), nil, nil)
	}
}

// ownDoc decodes on the struct fast path.
type ownDoc struct {
	PK   string `docstore:"pk"`
	SK   string `docstore:"sk"`
	PDF  *Blob  `docstore:"pdf"`
	Img  *Blob  `docstore:"img"`
	Data any    `docstore:"data"`
	Rev  any    `docstore:"DocstoreRevision"`
}

// ownGeneralDoc has an embedded struct, so it decodes on the general path.
type ownGeneralDoc struct {
	ownEmbedded
	PK   string `docstore:"pk"`
	SK   string `docstore:"sk"`
	PDF  *Blob  `docstore:"pdf"`
	Img  *Blob  `docstore:"img"`
	Data *Blob  `docstore:"data"`
}

type ownEmbedded struct {
	Note string `docstore:"note"`
}

// ownDriver is a map-backed driver.Driver that signs URLs and records the
// payload keys it is asked to open, sign, write and delete. ListBlobs
// reports every payload as stored two days early, so that Sweep's grace
// period has passed.
type ownDriver struct {
	driver.Unsupported // As and ErrorAs

	mu     sync.Mutex
	docs   map[driver.Key]*driver.Document
	blobs  map[string][]byte
	mods   map[string]time.Time
	log    []ownAccess
	bad    []string
	signed driver.SignedURLOptions
}

type ownAccess struct{ method, key string }

var (
	errOwnNotFound     = errors.New("ownfuzz: not found")
	errOwnExists       = errors.New("ownfuzz: already exists")
	errOwnPrecondition = errors.New("ownfuzz: precondition failed")
	errOwnInvalid      = errors.New("ownfuzz: invalid argument")
	errOwnCorrupt      = errors.New("ownfuzz: checksum mismatch")
)

func newOwnDriver() *ownDriver {
	return &ownDriver{docs: map[driver.Key]*driver.Document{}, blobs: map[string][]byte{}, mods: map[string]time.Time{}}
}

func (d *ownDriver) record(method, key string) {
	d.log = append(d.log, ownAccess{method, key})
}

// take returns and clears the record.
func (d *ownDriver) take() []ownAccess {
	d.mu.Lock()
	defer d.mu.Unlock()
	log := d.log
	d.log = nil
	return log
}

func (d *ownDriver) violations() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bad
}

func (d *ownDriver) lastSigned() driver.SignedURLOptions {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.signed
}

// doc returns a copy of the stored document k, or nil, without recording.
func (d *ownDriver) doc(k driver.Key) *driver.Document {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.docs[k].Clone()
}

func (d *ownDriver) docList() []*driver.Document {
	d.mu.Lock()
	defer d.mu.Unlock()
	var docs []*driver.Document
	for _, doc := range d.docs {
		docs = append(docs, doc.Clone())
	}
	return docs
}

// putRaw stores a document as another tool would, unconditionally.
func (d *ownDriver) putRaw(doc *driver.Document) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs[doc.Key] = doc.Clone()
}

// writeRaw stores a payload as another tool would.
func (d *ownDriver) writeRaw(key string, data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.blobs[key] = bytes.Clone(data)
	d.mods[key] = time.Now()
}

func (d *ownDriver) blobData(key string) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.blobs[key]
	return bytes.Clone(b), ok
}

func (d *ownDriver) Info() driver.Info {
	return driver.Info{PartitionKey: "pk", SortKey: "sk", MaxPartitionKeyBytes: 2048, MaxSortKeyBytes: 1024,
		MaxDocumentBytes: 400 << 10, MaxBlobKeyBytes: 1024, Collection: "ownfuzz", SettledOnReturn: true, SignsURLs: true}
}

func (d *ownDriver) GetDocument(ctx context.Context, key driver.Key) (*driver.Document, error) {
	if doc := d.doc(key); doc != nil {
		return doc, nil
	}
	return nil, errOwnNotFound
}

func checkOwnCondition(prev *driver.Document, cond driver.Condition) error {
	switch cond.Kind {
	case driver.MustNotExist:
		if prev != nil {
			return errOwnExists
		}
	case driver.MustMatchRevision:
		if prev == nil || prev.Revision != cond.Revision {
			return errOwnPrecondition
		}
	}
	return nil
}

func (d *ownDriver) PutDocument(ctx context.Context, doc *driver.Document, cond driver.Condition) (*driver.Document, error) {
	if driver.DocumentSize(doc, d.Info()) > d.Info().MaxDocumentBytes {
		return nil, errOwnInvalid
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.docs[doc.Key]
	if err := checkOwnCondition(prev, cond); err != nil {
		return nil, err
	}
	d.docs[doc.Key] = doc.Clone()
	return prev, nil
}

func (d *ownDriver) DeleteDocument(ctx context.Context, key driver.Key, cond driver.Condition) (*driver.Document, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.docs[key]
	if err := checkOwnCondition(prev, cond); err != nil {
		return nil, err
	}
	delete(d.docs, key)
	return prev, nil
}

// QueryDocuments returns pages of at most three documents; the page token
// is the index of the next one.
func (d *ownDriver) QueryDocuments(ctx context.Context, q *driver.Query) (*driver.QueryPage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var docs []*driver.Document
	for k, doc := range d.docs {
		if q.Partition == "" && q.InSegment(k.Partition) || k.Partition == q.Partition && q.SelectsSort(k.Sort) {
			docs = append(docs, doc)
		}
	}
	slices.SortFunc(docs, func(a, b *driver.Document) int {
		if c := strings.Compare(a.Key.Partition, b.Key.Partition); c != 0 {
			return c
		}
		return strings.Compare(a.Key.Sort, b.Key.Sort)
	})
	if q.Descending {
		slices.Reverse(docs)
	}
	start := 0
	if q.PageToken != "" {
		n, err := strconv.Atoi(q.PageToken)
		if err != nil || n < 0 || n > len(docs) {
			return nil, errOwnInvalid
		}
		start = n
	}
	n := 3
	if q.Limit > 0 && q.Limit < n {
		n = q.Limit
	}
	end := min(start+n, len(docs))
	page := &driver.QueryPage{}
	for _, doc := range docs[start:end] {
		page.Documents = append(page.Documents, doc.Clone())
	}
	if end < len(docs) {
		page.NextPageToken = strconv.Itoa(end)
	}
	return page, nil
}

func (d *ownDriver) WriteBlob(ctx context.Context, key string, r io.Reader, opts *driver.WriteOptions) (*driver.BlobAttrs, error) {
	d.mu.Lock()
	d.record("WriteBlob", key)
	d.mu.Unlock()
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(data) > 1<<20 {
		return nil, errOwnInvalid
	}
	if opts != nil && opts.Size >= 0 && int64(len(data)) != opts.Size {
		return nil, errOwnInvalid
	}
	sum := opts.Algorithm().Sum(data)
	if opts != nil && opts.Sum != nil && !bytes.Equal(sum, opts.Sum) {
		return nil, errOwnCorrupt
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, used := d.blobs[key]; used {
		d.bad = append(d.bad, fmt.Sprintf("WriteBlob over existing payload %q", key))
		return nil, errOwnExists
	}
	d.blobs[key] = data
	d.mods[key] = time.Now()
	return &driver.BlobAttrs{Checksum: driver.Checksum{Algorithm: opts.Algorithm(), Sum: sum}}, nil
}

func (d *ownDriver) OpenBlob(ctx context.Context, key string, offset, length int64, _ *driver.OpenOptions) (*driver.BlobReader, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("OpenBlob", key)
	data, ok := d.blobs[key]
	if !ok {
		return nil, errOwnNotFound
	}
	if offset < 0 || length == 0 {
		d.bad = append(d.bad, fmt.Sprintf("OpenBlob(%q, %d, %d)", key, offset, length))
		return nil, errOwnInvalid
	}
	data = data[min(offset, int64(len(data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return &driver.BlobReader{ReadCloser: io.NopCloser(bytes.NewReader(bytes.Clone(data)))}, nil
}

// StatBlob reports a payload as stored two days before it was, as
// ListBlobs does, and vouches for no checksum.
func (d *ownDriver) StatBlob(ctx context.Context, key string) (*driver.BlobInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("StatBlob", key)
	data, ok := d.blobs[key]
	if !ok {
		return nil, errOwnNotFound
	}
	return &driver.BlobInfo{Key: key, Size: int64(len(data)), ModTime: d.mods[key].Add(-48 * time.Hour)}, nil
}

func (d *ownDriver) DeleteBlob(ctx context.Context, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("DeleteBlob", key)
	delete(d.blobs, key)
	delete(d.mods, key)
	return nil
}

func (d *ownDriver) GetDocuments(ctx context.Context, keys []driver.Key) ([]*driver.Document, []error) {
	return driver.GetEach(ctx, d, keys)
}

func (d *ownDriver) DeleteBlobs(ctx context.Context, keys []string) []error {
	return driver.DeleteEach(ctx, d, keys)
}

// ListBlobs returns pages of at most four payloads, each reported as
// stored two days before it was.
func (d *ownDriver) ListBlobs(ctx context.Context, prefix, pageToken string) (*driver.BlobPage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keys []string
	for k := range d.blobs {
		if strings.HasPrefix(k, prefix) && k > pageToken {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	page := &driver.BlobPage{}
	for i, k := range keys {
		if i == 4 {
			page.NextPageToken = keys[i-1]
			break
		}
		page.Blobs = append(page.Blobs, driver.BlobInfo{Key: k, Size: int64(len(d.blobs[k])), ModTime: d.mods[k].Add(-48 * time.Hour)})
	}
	return page, nil
}

func (d *ownDriver) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record("SignedURL", key)
	d.signed = *opts
	return "https://ownfuzz.invalid/" + url.PathEscape(key) + "?method=" + opts.Method, nil
}

func (d *ownDriver) ErrorCode(err error) driver.ErrorCode {
	switch {
	case errors.Is(err, errOwnNotFound):
		return driver.NotFound
	case errors.Is(err, errOwnExists):
		return driver.AlreadyExists
	case errors.Is(err, errOwnPrecondition):
		return driver.FailedPrecondition
	case errors.Is(err, errOwnInvalid):
		return driver.InvalidArgument
	case errors.Is(err, errOwnCorrupt):
		return driver.Corrupt
	}
	return driver.Unknown
}

func (d *ownDriver) Close() error { return nil }
