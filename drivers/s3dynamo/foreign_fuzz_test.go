package s3dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/docblob/docblob"
	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/drivers/memstore"
	"github.com/docblob/docblob/internal/fieldtest"
)

// foreignDoc has a typed field for each kind of value a foreign item may
// hold under the generator's names, so that decoding meets every pairing
// of stored type and field type.
type foreignDoc struct {
	PK   string            `docstore:"pk"`
	SK   string            `docstore:"sk"`
	S    string            `docstore:"s"`
	I    int64             `docstore:"i"`
	U8   uint8             `docstore:"u8"`
	F    float64           `docstore:"f"`
	D    docblob.Decimal   `docstore:"d"`
	SS   docblob.StringSet `docstore:"ss"`
	NS   docblob.NumberSet `docstore:"ns"`
	BS   docblob.BinarySet `docstore:"bs"`
	L    []int64           `docstore:"l"`
	M    map[string]any    `docstore:"m"`
	T    time.Time         `docstore:"t"`
	File *docblob.Blob     `docstore:"file"`
	Any  any               `docstore:"any"`
	Rev  any               `docstore:"DocstoreRevision"`
}

// foreignNames are the attribute names items are made of: the fields of
// foreignDoc, names DynamoDB refuses, and the key and revision names.
var foreignNames = []string{"s", "i", "u8", "f", "d", "ss", "ns", "bs", "l", "m", "t", "file", "any", "x", "",
	"\xff", "DocstoreRevision", "pk", "sk", strings.Repeat("n", 300)}

// foreignNumbers are numbers as DynamoDB returns them, and text it would
// refuse.
var foreignNumbers = []string{
	"0", "-0", "7", "0.1", "1.5", "-2.5", "42",
	"12345678901234567890", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
	"18446744073709551616", "3.1415926535897932384626433832795028",
	"12345678901234567890123456789012345678", "-0.00000000000000000000000000000000000012345678901234567890123456789012345678",
	"0." + strings.Repeat("0", 129) + "1", "1e-130", "-1E-130",
	"9.9999999999999999999999999999999999999E+125", "-999999999999999999999999999999999999990000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	"1" + strings.Repeat("0", 100), "1e126", "1e-131", "123456789012345678901234567890123456789",
	"", "-", "NaN", "Infinity", "-Inf", "0x10", "1e999999999", "1e-99999999999", " 5", "+.5", "5.", "1_0",
	"\u0661\u0662", "1e", strings.Repeat("9", 5000), "0." + strings.Repeat("0", 5000) + "1",
}

// itemGen makes an item from fuzz bytes; each byte is a choice.
type itemGen struct {
	b      []byte
	i      int
	ns     string // the store's payload namespace
	budget int    // bytes of strings and binaries still to spend
	blobs  map[string][]byte
}

func (g *itemGen) next() int {
	if g.i >= len(g.b) {
		return 0
	}
	c := g.b[g.i]
	g.i++
	return int(c)
}

func (g *itemGen) pick(n int) int { return g.next() % n }

func (g *itemGen) text() string {
	switch g.pick(8) {
	case 0:
		return ""
	case 1:
		return "\xff\xfe" // not UTF-8
	case 2:
		n := min(g.next()<<10, g.budget)
		g.budget -= n
		return strings.Repeat("x", n) // large
	case 3:
		return "2026-03-01T12:00:00Z" // a time
	}
	n := min(g.pick(12), len(g.b)-g.i)
	s := string(g.b[g.i : g.i+n])
	g.i += n
	return s
}

func (g *itemGen) number() string {
	if g.pick(4) == 0 {
		// Random digits with a random exponent.
		var sb strings.Builder
		if g.pick(2) == 0 {
			sb.WriteByte('-')
		}
		for range 1 + g.pick(45) {
			sb.WriteByte(byte('0' + g.pick(10)))
		}
		if g.pick(2) == 0 {
			fmt.Fprintf(&sb, "e%d", g.next()-128)
		}
		return sb.String()
	}
	return foreignNumbers[g.pick(len(foreignNumbers))]
}

func (g *itemGen) value(depth int, top string) types.AttributeValue {
	kind := g.pick(16)
	if depth > 40 {
		kind %= 6 // scalars only
	}
	switch kind {
	case 0:
		return &types.AttributeValueMemberNULL{Value: true}
	case 1:
		return &types.AttributeValueMemberBOOL{Value: g.pick(2) == 0}
	case 2, 3:
		return &types.AttributeValueMemberS{Value: g.text()}
	case 4:
		return &types.AttributeValueMemberN{Value: g.number()}
	case 5:
		return &types.AttributeValueMemberB{Value: []byte(g.text())}
	case 6:
		var l []string
		for range g.pick(5) {
			l = append(l, g.text())
		}
		return &types.AttributeValueMemberSS{Value: l}
	case 7:
		var l []string
		for range g.pick(5) {
			l = append(l, g.number())
		}
		return &types.AttributeValueMemberNS{Value: l}
	case 8:
		var l [][]byte
		for range g.pick(5) {
			l = append(l, []byte(g.text()))
		}
		return &types.AttributeValueMemberBS{Value: l}
	case 9, 10:
		var l []types.AttributeValue
		for range g.pick(5) {
			l = append(l, g.value(depth+1, top))
		}
		return &types.AttributeValueMemberL{Value: l}
	case 11:
		if g.pick(2) == 0 { // a deep chain
			v := g.value(depth+1, top)
			for range g.pick(40) {
				v = &types.AttributeValueMemberL{Value: []types.AttributeValue{v}}
			}
			return v
		}
		fallthrough
	case 12:
		m := map[string]types.AttributeValue{}
		for range g.pick(5) {
			m[foreignNames[g.pick(len(foreignNames))]] = g.value(depth+1, top)
		}
		return &types.AttributeValueMemberM{Value: m}
	case 13:
		return nil // what a broken client might hand over
	default:
		return g.attachment(depth, top)
	}
}

// attachment returns an attachment-shaped map, often one the store would
// honour, with sizes, checksums and payloads that may all lie.
func (g *itemGen) attachment(depth int, top string) types.AttributeValue {
	payload := []byte(g.text())
	sum := sha256.Sum256(payload)
	m := map[string]types.AttributeValue{
		"docblob": &types.AttributeValueMemberN{Value: []string{"1", "2", "1.0", "12345678901234567890", "x"}[g.pick(5)]},
	}
	switch g.pick(4) {
	case 0, 1: // in the store's namespace, under the field's own prefix
		key := fmt.Sprintf("%sp/s/%s/06h2j16bq7f4pvfrlfltihan7%c", g.ns, top, 'a'+g.pick(26))
		m["key"] = &types.AttributeValueMemberS{Value: key}
		if g.pick(3) != 0 {
			g.blobs[key] = payload
		}
	case 2: // inline
		m["data"] = &types.AttributeValueMemberB{Value: payload}
	default: // someone else's
		m["key"] = &types.AttributeValueMemberS{Value: "elsewhere/" + g.text()}
	}
	sizes := []string{fmt.Sprint(len(payload)), "0", "-1", "1", "9223372036854775807", "4611686018427387904", "1099511627776",
		"12345678901234567890", "1e30", "2.5", g.number()}
	m["size"] = &types.AttributeValueMemberN{Value: sizes[g.pick(len(sizes))]}
	sums := []string{hex.EncodeToString(sum[:]), strings.Repeat("00", 32), "zz", ""}
	m["sha256"] = &types.AttributeValueMemberS{Value: sums[g.pick(len(sums))]}
	if g.pick(2) == 0 {
		m["content_type"] = &types.AttributeValueMemberS{Value: g.text()}
	}
	if g.pick(2) == 0 {
		m["created"] = &types.AttributeValueMemberS{Value: "2026-01-01T00:00:00Z"}
	}
	if g.pick(4) == 0 {
		m["metadata"] = g.value(depth+1, top)
	}
	if g.pick(4) == 0 {
		m[foreignNames[g.pick(len(foreignNames))]] = g.value(depth+1, top)
	}
	return &types.AttributeValueMemberM{Value: m}
}

func (g *itemGen) item() map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "p"},
		"sk": &types.AttributeValueMemberS{Value: "s"},
	}
	if g.pick(2) == 0 {
		item["DocstoreRevision"] = &types.AttributeValueMemberS{Value: g.text()}
	}
	for range 1 + g.pick(8) {
		name := foreignNames[g.pick(len(foreignNames))]
		if name == "pk" || name == "sk" {
			continue
		}
		item[name] = g.value(1, name)
	}
	return item
}

// dynamoDBAccepts reports whether DynamoDB would store the item's non-key
// attributes, by its rules for names, strings, numbers and sets (sizes
// aside: items stay far below 400 KB).
func dynamoDBAccepts(item map[string]types.AttributeValue) bool {
	for name, av := range item {
		if name == "" || !utf8.ValidString(name) || !acceptsValue(av, 1) {
			return false
		}
	}
	return true
}

func acceptsValue(av types.AttributeValue, depth int) bool {
	switch x := av.(type) {
	case *types.AttributeValueMemberNULL, *types.AttributeValueMemberBOOL, *types.AttributeValueMemberB:
		return true
	case *types.AttributeValueMemberS:
		return utf8.ValidString(x.Value)
	case *types.AttributeValueMemberN:
		return driver.Decimal(x.Value).Check() == nil
	case *types.AttributeValueMemberSS:
		return len(x.Value) > 0 && distinct(x.Value, func(s string) (string, bool) { return s, utf8.ValidString(s) })
	case *types.AttributeValueMemberNS:
		return len(x.Value) > 0 && distinct(x.Value, func(s string) (string, bool) {
			d := driver.Decimal(s)
			r, err := d.Rat()
			if err != nil {
				return "", false
			}
			return r.RatString(), true
		})
	case *types.AttributeValueMemberBS:
		return len(x.Value) > 0 && distinct(x.Value, func(b []byte) (string, bool) { return string(b), true })
	case *types.AttributeValueMemberL:
		if depth >= 32 {
			return false
		}
		for _, e := range x.Value {
			if !acceptsValue(e, depth+1) {
				return false
			}
		}
		return true
	case *types.AttributeValueMemberM:
		if depth >= 32 {
			return false
		}
		for k, e := range x.Value {
			if k == "" || !utf8.ValidString(k) || !acceptsValue(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false // nil, or an unknown member
}

func distinct[E any](l []E, key func(E) (string, bool)) bool {
	seen := map[string]bool{}
	for _, e := range l {
		k, ok := key(e)
		if !ok || seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

// sameValue reports whether two attribute values are the same DynamoDB
// value: numbers by value, sets in any order.
func sameValue(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && driver.Decimal(x.Value).Equal(driver.Decimal(y.Value))
	case *types.AttributeValueMemberNS:
		y, ok := b.(*types.AttributeValueMemberNS)
		return ok && fieldtest.Equal(map[string]any{"": toNumberSet(x.Value)}, map[string]any{"": toNumberSet(y.Value)})
	case *types.AttributeValueMemberSS:
		y, ok := b.(*types.AttributeValueMemberSS)
		return ok && fieldtest.Equal(map[string]any{"": driver.StringSet(x.Value)}, map[string]any{"": driver.StringSet(y.Value)})
	case *types.AttributeValueMemberBS:
		y, ok := b.(*types.AttributeValueMemberBS)
		return ok && fieldtest.Equal(map[string]any{"": driver.BinarySet(x.Value)}, map[string]any{"": driver.BinarySet(y.Value)})
	case *types.AttributeValueMemberL:
		y, ok := b.(*types.AttributeValueMemberL)
		return ok && slices.EqualFunc(x.Value, y.Value, sameValue)
	case *types.AttributeValueMemberM:
		y, ok := b.(*types.AttributeValueMemberM)
		return ok && sameItem(x.Value, y.Value)
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && string(x.Value) == string(y.Value)
	case *types.AttributeValueMemberBOOL:
		y, ok := b.(*types.AttributeValueMemberBOOL)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberNULL:
		_, ok := b.(*types.AttributeValueMemberNULL)
		return ok
	}
	return false
}

func sameItem(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !sameValue(v, w) {
			return false
		}
	}
	return true
}

func toNumberSet(l []string) driver.NumberSet {
	out := make(driver.NumberSet, len(l))
	for i, s := range l {
		out[i] = driver.Decimal(s)
	}
	return out
}

// FuzzForeignItems feeds items that other tools could have written (and
// items no tool could) through the driver's item decoder and then through
// a Store over memstore: Get into a map and into a struct, Put back, read
// every attachment, Check. Nothing may panic or allocate what the item
// claims; an item DynamoDB accepts must survive decoding and re-encoding,
// and a Get and Put of it through the Store, without loss.
func FuzzForeignItems(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 4, 4, 7, 4, 4, 8, 4, 3})
	f.Add([]byte{7, 6, 6, 3, 2, 2, 7, 7, 1, 5, 2, 8, 3, 2, 7, 9, 4, 2, 1})
	f.Add([]byte("\x02\x0b\x0e\x00\x03\x01\x00\x00\x01\x02\x03\x04"))
	f.Add([]byte("\x03\x0c\x0f\x01\x05\x0e\x01\x02\x00\x05\x09\x0f\x00\x00\x00\x01"))
	f.Add([]byte("\x05\x0b\x0b\x01\x28\x04\x11\x09\x0c\x0c\x0c\x0c\x0c\x0c\x0c\x0c"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// An input that takes this long is a hang: fail with every
		// goroutine's stack, since the fuzzer itself never gives up.
		watchdog := time.AfterFunc(20*time.Second, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("an input took over 20s:\n%s", buf[:runtime.Stack(buf, true)]))
		})
		defer watchdog.Stop()
		mem, err := memstore.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := docblob.NewStore(mem, nil) // testdata seed 75cb5d6a6f188e76 claims 1 TiB
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		g := &itemGen{b: data, ns: s.Namespace(), budget: 256 << 10, blobs: map[string][]byte{}}
		item := g.item()
		accepted := dynamoDBAccepts(item)

		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		defer func() {
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 256<<20 {
				t.Fatalf("allocated %d MiB for an item of %d fuzz bytes", n>>20, len(data))
			}
		}()

		drv := &Driver{info: driver.Info{PartitionKey: "pk", SortKey: "sk"}}
		doc := drv.decodeItem(item)
		if doc.Key != (driver.Key{Partition: "p", Sort: "s"}) {
			t.Fatalf("key %v", doc.Key)
		}
		// What DynamoDB accepts decodes without loss.
		if accepted {
			again, err := drv.encodeItem(doc)
			if err != nil {
				t.Fatalf("re-encoding an item DynamoDB accepts: %v\n%#v", err, doc.Fields)
			}
			// The revision is docblob's to write: an empty one is left
			// out, and one of another type is rewritten as a string.
			want := maps.Clone(item)
			delete(want, revisionAttr)
			delete(again, revisionAttr)
			if !sameItem(again, want) {
				t.Fatalf("decoding and re-encoding changed the item:\n got %s\nwant %s", showItem(again), showItem(want))
			}
		}

		for key, payload := range g.blobs {
			if _, err := mem.WriteBlob(ctx, key, strings.NewReader(string(payload)), &driver.WriteOptions{Size: -1}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := mem.PutDocument(ctx, doc, driver.Condition{}); err != nil {
			if accepted {
				t.Fatalf("memstore refuses an item DynamoDB accepts: %v\n%#v", err, doc.Fields)
			}
			return
		}

		m := map[string]any{"pk": "p", "sk": "s"}
		mapErr := s.Get(ctx, m)
		var st foreignDoc
		st.PK, st.SK = "p", "s"
		_ = s.Get(ctx, &st)
		var blobs []*docblob.Blob
		for _, v := range m {
			if b, ok := v.(*docblob.Blob); ok {
				blobs = append(blobs, b)
			}
		}
		if st.File != nil {
			blobs = append(blobs, st.File)
		}
		for _, b := range blobs {
			data, err := b.ReadAll(ctx)
			if err == nil && int64(len(data)) != b.Size() {
				t.Fatalf("ReadAll returned %d bytes of a %d-byte payload", len(data), b.Size())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("ReadAll hung")
			}
		}

		hasAttachment := false
		for _, v := range doc.Fields {
			if mv, ok := v.(map[string]any); ok {
				if _, ok := mv["docblob"]; ok {
					hasAttachment = true
				}
			}
		}
		if mapErr == nil {
			err := s.Put(ctx, m)
			switch {
			case err != nil && accepted && !hasAttachment:
				t.Fatalf("Put of what Get returned: %v", err)
			case err == nil && accepted && !hasAttachment:
				got, err := mem.GetDocument(ctx, doc.Key)
				if err != nil {
					t.Fatal(err)
				}
				if !fieldtest.Equal(got.Fields, doc.Fields) {
					t.Fatalf("Get and Put changed the document:\n got %#v\nwant %#v", got.Fields, doc.Fields)
				}
			}
		} else if accepted && !hasAttachment {
			t.Fatalf("Get into a map of an item DynamoDB accepts: %v", mapErr)
		}

		for _, err := range s.Check(ctx, &docblob.CheckOptions{VerifyChecksums: true}) {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("Check hung")
			}
		}
	})
}

// showItem formats an item for a failure message.
func showItem(item map[string]types.AttributeValue) string {
	var sb strings.Builder
	sb.WriteString("{")
	for _, k := range slices.Sorted(maps.Keys(item)) {
		fmt.Fprintf(&sb, "%q: %s, ", k, showValue(item[k]))
	}
	sb.WriteString("}")
	return sb.String()
}

func showValue(av types.AttributeValue) string {
	var s string
	switch x := av.(type) {
	case *types.AttributeValueMemberL:
		parts := make([]string, len(x.Value))
		for i, e := range x.Value {
			parts[i] = showValue(e)
		}
		return "L[" + strings.Join(parts, " ") + "]"
	case *types.AttributeValueMemberM:
		return "M" + showItem(x.Value)
	case *types.AttributeValueMemberS:
		s = fmt.Sprintf("S%q", x.Value)
	case *types.AttributeValueMemberN:
		s = fmt.Sprintf("N%q", x.Value)
	case *types.AttributeValueMemberB:
		s = fmt.Sprintf("B%q", x.Value)
	case *types.AttributeValueMemberSS:
		s = fmt.Sprintf("SS%q", x.Value)
	case *types.AttributeValueMemberNS:
		s = fmt.Sprintf("NS%q", x.Value)
	case *types.AttributeValueMemberBS:
		s = fmt.Sprintf("BS%q", x.Value)
	case *types.AttributeValueMemberBOOL:
		s = fmt.Sprintf("BOOL %v", x.Value)
	case *types.AttributeValueMemberNULL:
		s = fmt.Sprintf("NULL %v", x.Value)
	default:
		s = fmt.Sprintf("%T", av)
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
