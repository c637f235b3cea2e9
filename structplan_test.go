package docblob

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docblob/docblob/driver"
	"github.com/docblob/docblob/internal/attach"
)

type planName string

// planDocIface has fields of interfaces with methods, which the walker
// does not fill (it sets only empty interfaces), its revision among them.
type planDocIface struct {
	PK  string                    `docstore:"pk"`
	SK  string                    `docstore:"sk"`
	Str fmt.Stringer              `docstore:"str"`
	Sz  interface{ Size() int64 } `docstore:"sz"`
	Rev fmt.Stringer              `docstore:"DocstoreRevision"`
}

type planDoc struct {
	PK    string    `docstore:"pk"`
	SK    planName  `docstore:"sk"`
	Title string    `docstore:"title,omitempty"`
	N     int8      `docstore:"n"`
	F     float32   // named F
	OK    bool      `docstore:"ok"`
	T     time.Time `docstore:"t"`
	File  *Blob     `docstore:"file"`
	Any   any       `docstore:"any"`
	Rev   any       `docstore:"DocstoreRevision"`
	Skip  string    `docstore:"-"`
}

type planText struct{ s string }

func (t planText) MarshalText() ([]byte, error)  { return []byte(t.s), nil }
func (t *planText) UnmarshalText(b []byte) error { t.s = string(b); return nil }

type (
	planDocOther struct {
		PK string   `docstore:"pk"`
		SK string   `docstore:"sk"`
		L  []string `docstore:"l"`
	}
	planDocStrRev struct {
		PK  string `docstore:"pk"`
		SK  string `docstore:"sk"`
		Rev string `docstore:"DocstoreRevision"`
	}
	planDocNoRev struct {
		PK string `docstore:"pk"`
		SK string `docstore:"sk"`
		X  int    `docstore:"x"`
	}
	planDocFold struct {
		PK string `docstore:"Pk"`
		SK string `docstore:"sk"`
	}
	planDocEmbedded struct {
		planDocNoRev
		PK, SK string
	}
	planDocDuplicate struct {
		PK string `docstore:"pk"`
		SK string `docstore:"sk"`
		A  string `docstore:"x"`
		B  string `docstore:"x"`
	}
	planDocNamedRev struct {
		PK  string   `docstore:"pk"`
		SK  string   `docstore:"sk"`
		Rev planName `docstore:"DocstoreRevision"`
	}
	planDocOmitKey struct {
		PK  string `docstore:"pk,omitempty"`
		SK  string `docstore:"sk"`
		Rev any    `docstore:"DocstoreRevision,omitempty"`
	}
	planDocAnyKey struct {
		PK any    `docstore:"pk"`
		SK string `docstore:"sk"`
	}
	planDocTextField struct {
		PK string    `docstore:"pk"`
		SK string    `docstore:"sk"`
		T  planText  `docstore:"t"`
		P  *planText `docstore:"p"`
	}
	planDocUnexportedPK struct {
		PK string `docstore:"pk"`
		SK string `docstore:"sk"`
		pk string
	}
	// planDocNumbers has the number fields whose exactness both paths
	// check, and the types they leave to the general path.
	planDocNumbers struct {
		PK  string    `docstore:"pk"`
		SK  string    `docstore:"sk"`
		I   int64     `docstore:"i"`
		F   float64   `docstore:"f"`
		F32 float32   `docstore:"f32"`
		D   Decimal   `docstore:"d"`
		SS  StringSet `docstore:"ss"`
		NS  NumberSet `docstore:"ns"`
		BS  BinarySet `docstore:"bs"`
		Any any       `docstore:"any"`
	}
)

func planStore() *Store {
	return &Store{info: driver.Info{PartitionKey: "pk", SortKey: "sk", MaxPartitionKeyBytes: 8},
		opts: Options{RevisionField: "DocstoreRevision"}}
}

// general returns a document that takes the general path only.
func general(t *testing.T, s *Store, doc any) *document {
	t.Helper()
	d, err := s.newDocument("test", doc)
	if err != nil {
		t.Fatal(err)
	}
	d.plan = nil
	return d
}

func TestPlanChoosesFastPathOnlyWhereSafe(t *testing.T) {
	s := planStore()
	for _, tc := range []struct {
		doc  any
		want bool
	}{
		{&planDoc{}, true},
		{&planDocOther{}, true}, // with a kindOther field
		{&planDocStrRev{}, true},
		{&planDocNoRev{}, true},
		{&planDocFold{}, false}, // "Pk" matches "pk" only case-insensitively
		{&struct{ PK, SK string }{}, false},
		{&planDocEmbedded{}, false},
		{&planDocDuplicate{}, false},
		{&planDocUnexportedPK{}, true},
		{&planDocNumbers{}, true}, // with kindOther fields
	} {
		d, err := s.newDocument("test", tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.plan != nil; got != tc.want {
			t.Errorf("%T: plan %v, want %v", tc.doc, got, tc.want)
		}
	}
}

func planDocs(b *Blob) []any {
	when := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	return []any{
		&planDoc{PK: "p", SK: "s", Title: "t", N: -3, F: 1.5, OK: true, T: when, File: b, Any: "x", Rev: "r"},
		&planDoc{PK: "p", SK: "s", Any: int64(7)},
		&planDoc{PK: "p", SK: "s", Any: 3}, // an int, not int64: the general path
		&planDoc{PK: "p", SK: "s", Any: []string{"a"}},
		&planDoc{PK: "p", SK: "s", Any: b}, // an attachment in an interface
		&planDoc{PK: "", SK: "s"},
		&planDoc{PK: "far too long", SK: "s"},
		&planDoc{PK: "p", SK: "s\xff"},
		&planDoc{PK: "p", SK: "s", Rev: 3},
		&planDoc{PK: "p", SK: "s", Rev: planName("r")},
		&planDoc{PK: "p", SK: "s", Rev: new(string)},
		&planDocOther{PK: "p", SK: "s", L: []string{"a"}},
		&planDocStrRev{PK: "p", SK: "s", Rev: "r"},
		&planDocNoRev{PK: "p", SK: "s", X: 1},
		&planDocNamedRev{PK: "p", SK: "s", Rev: "r"},
		&planDocOmitKey{PK: "", SK: "s"},
		&planDocOmitKey{PK: "p", SK: "s"},
		&planDocAnyKey{PK: "p", SK: "s"},
		&planDocTextField{PK: "p", SK: "s", T: planText{"a"}, P: &planText{"b"}},
		&planDocUnexportedPK{PK: "p", SK: "s", pk: "q"},
		&planDocNumbers{PK: "p", SK: "s", I: 1, F: 0.1, F32: 2.5, Any: 3.5},
		&planDocNumbers{PK: "p", SK: "s", D: "12345678901234567890", SS: StringSet{"a"}, NS: NumberSet{"1"}, BS: BinarySet{{1}}},
		&planDocNumbers{PK: "p", SK: "s", Any: Decimal("1.5")},
		&planDocNumbers{PK: "p", SK: "s", Any: StringSet{"a"}},
		&planDocNumbers{PK: "p", SK: "s", Any: StringSet{}},
	}
}

func TestPlanLocateMatchesGeneralPath(t *testing.T) {
	s := planStore()
	b := NewBlobBytes([]byte("x"), nil)
	locates := 0
	for _, doc := range planDocs(b) {
		d, err := s.newDocument("test", doc)
		if err != nil {
			t.Fatal(err)
		}
		if d.plan == nil || !d.plan.locate(s, d.v, d) {
			continue
		}
		locates++
		g := general(t, s, doc)
		if err := s.readKeyFields("get", g); err != nil || d.key != g.key || d.rev != g.rev || d.hasRev != g.hasRev {
			t.Errorf("%+v: locate: fast path %+v, general path %+v, %v", doc, d, g, err)
		}
	}
	if locates < 5 {
		t.Errorf("the fast path took %d locates", locates)
	}
}

func TestPlanDecodeMatchesGeneralPath(t *testing.T) {
	s := planStore()
	sum := strings.Repeat("ab", 32)
	ref := map[string]any{attach.AttrVersion: attach.Version, attach.AttrKey: "k", attach.AttrSize: int64(3),
		attach.AttrSHA256: sum, attach.AttrCreated: "2026-01-01T00:00:00Z"}
	bad := map[string]any{attach.AttrVersion: attach.Version, attach.AttrKey: "k", attach.AttrSize: int64(3), attach.AttrSHA256: "zz"}
	fieldSets := []map[string]any{
		{"title": "t", "n": int64(5), "F": 2.5, "ok": true, "t": "2026-03-01T12:00:00.000000005Z", "file": ref, "any": "x", "extra": 1.0},
		{"t": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "F": int64(2), "any": ref, "file": nil, "title": nil},
		{"n": int64(500)},        // overflows int8
		{"n": 5.0},               // a float into an int
		{"title": int64(3)},      // a number into a string
		{"ok": "yes"},            // a string into a bool
		{"t": "yesterday"},       // not a time
		{"t": nil},               // null into a time
		{"file": "not a map"},    // not an attachment
		{"file": bad},            // a malformed attachment
		{"any": bad},             // a malformed attachment in an interface
		{"any": []any{"a", ref}}, // attachments are top-level only
		{"l": []any{"a"}, "x": int64(3), "DocstoreRevision": "ignored", "pk": "ignored"},
		{"t": planText{"a"}, "p": "b"},
		// Numbers and sets, which the planDocNumbers fields hold or refuse.
		{"i": Decimal("12345678901234567890"), "f": Decimal("0.1"), "d": Decimal("1.5"), "any": Decimal("7")},
		{"i": Decimal("12"), "f": Decimal("3.1415926535897932384626433832795028")},
		{"f": int64(1<<53 + 1)},                        // a float64 does not hold it
		{"f": int64(1 << 53), "f32": int64(1<<53 + 1)}, // float32 fields round
		{"f32": Decimal("0.1"), "d": int64(5), "ss": []any{"a"}, "ns": NumberSet{"1", "2"}, "bs": BinarySet{{1}}},
		{"d": 2.5, "ss": StringSet{"x"}, "any": NumberSet{"3"}},
		{"d": "not a number"}, // a string into a Decimal
		{"n": Decimal("5"), "title": Decimal("5"), "F": Decimal("2.5"), "any": BinarySet{{0}}},
		{"l": StringSet{"a"}, "x": Decimal("3")},
		// Into interfaces with methods (planDocIface): refused, whatever
		// the value, even one that has the methods.
		{"str": "hello", "sz": int64(3)},
		{"str": Decimal("12345678901234567890")},
		{"str": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"sz": ref},
		{},
	}
	key := driver.Key{Partition: "p", Sort: "s"}
	hits := 0
	for _, fields := range fieldSets {
		for _, proto := range []any{&planDoc{}, &planDocOther{}, &planDocStrRev{}, &planDocNoRev{}, &planDocNamedRev{},
			&planDocAnyKey{}, &planDocTextField{}, &planDocFold{}, &planDocUnexportedPK{}, &planDocNumbers{}, &planDocIface{}} {
			got := &driver.Document{Key: key, Revision: "rev", Fields: fields}
			typ := reflect.TypeOf(proto).Elem()
			fastDoc, slowDoc := reflect.New(typ).Interface(), reflect.New(typ).Interface()
			fast, err := s.newDocument("get", fastDoc)
			if err != nil {
				t.Fatal(err)
			}
			if fast.plan != nil && fast.plan.decode(s, reflect.New(typ).Elem(), got, func(any, string) (*Blob, error) { return nil, nil }) {
				hits++
			}
			ferr := s.decodeInto(fast, got)
			serr := s.decodeInto(general(t, s, slowDoc), got)
			// Which of several errors the general path reports depends on
			// map order, so only their codes must agree.
			if (ferr == nil) != (serr == nil) || Code(ferr) != Code(serr) || (ferr == nil && !reflect.DeepEqual(fastDoc, slowDoc)) {
				t.Errorf("%T from %v:\n fast %+v, %v\n slow %+v, %v", proto, fields, fastDoc, ferr, slowDoc, serr)
			}
		}
	}
	if hits < 10 {
		t.Errorf("the fast path decoded %d documents", hits)
	}
}

// FuzzPlanDecode checks that the fast path decodes any stored field values
// exactly as the general path does, or gives up: the same document, or an
// error with the same code.
func FuzzPlanDecode(f *testing.F) {
	f.Add("title", int64(5), 2.5, true, "2026-03-01T12:00:00Z", uint8(0))
	f.Add("", int64(500), math.Copysign(0, -1), false, "yesterday", uint8(0xff))
	f.Add("x", int64(-129), 1e40, true, "", uint8(0x5a))
	f.Fuzz(func(t *testing.T, str string, n int64, fl float64, b bool, ts string, mix uint8) {
		if math.IsNaN(fl) {
			fl = 0 // NaN != NaN would fail the comparison of equal decodings
		}
		// mix picks, per field, which of the fuzzed values it holds, so
		// that values of the wrong type reach every field.
		values := []any{str, n, fl, b, ts, nil, int64(len(str)), []any{str},
			Decimal(str), Decimal(strconv.FormatInt(n, 10) + "e" + strconv.Itoa(int(mix)%40-20)), StringSet{str}, NumberSet{Decimal(ts)}, BinarySet{[]byte(str)}}
		pick := func(shift uint) any { return values[(int(mix)>>shift+int(shift))%len(values)] }
		fields := map[string]any{"title": pick(0), "n": pick(1), "F": pick(2), "ok": pick(3), "t": pick(4), "any": pick(5),
			"i": pick(6), "f": pick(7), "f32": pick(0), "d": pick(1), "ss": pick(2), "ns": pick(3), "bs": pick(4)}
		s := planStore()
		key := driver.Key{Partition: "p", Sort: "s"}
		for _, proto := range []any{&planDoc{}, &planDocNoRev{}, &planDocStrRev{}, &planDocNumbers{}} {
			typ := reflect.TypeOf(proto).Elem()
			fastDoc, slowDoc := reflect.New(typ).Interface(), reflect.New(typ).Interface()
			fast, err := s.newDocument("get", fastDoc)
			if err != nil {
				t.Fatal(err)
			}
			got := &driver.Document{Key: key, Revision: "rev", Fields: fields}
			ferr := s.decodeInto(fast, got)
			serr := s.decodeInto(general(t, s, slowDoc), got)
			if (ferr == nil) != (serr == nil) || Code(ferr) != Code(serr) || (ferr == nil && !reflect.DeepEqual(fastDoc, slowDoc)) {
				t.Fatalf("%T from %v:\n fast %+v, %v\n slow %+v, %v", proto, fields, fastDoc, ferr, slowDoc, serr)
			}
		}
	})
}

// FuzzPlanLocate checks that the fast path reads the key and revision of
// any struct values exactly as the general path does, whenever it takes
// them.
func FuzzPlanLocate(f *testing.F) {
	f.Add("p", "s", "title", int8(5), float32(2.5), true, int64(0), "rev")
	f.Add("", "", "", int8(-128), float32(math.Copysign(0, -1)), false, int64(-1<<62), "")
	f.Add("long partition key", "s", "x", int8(1), float32(1e38), true, int64(1<<62), "\xff")
	f.Fuzz(func(t *testing.T, pk, sk, title string, n int8, fl float32, ok bool, nanos int64, rev string) {
		s := planStore()
		var revAny any
		if rev != "" {
			revAny = rev
		}
		docs := []any{
			&planDoc{PK: pk, SK: planName(sk), Title: title, N: n, F: fl, OK: ok, T: time.Unix(0, nanos).UTC(), Any: title, Rev: revAny},
			&planDocNumbers{PK: pk, SK: sk, I: nanos, F: float64(fl), F32: fl, D: Decimal(title), SS: StringSet{title}, Any: Decimal(rev)},
			&planDocStrRev{PK: pk, SK: sk, Rev: rev},
			&planDocNoRev{PK: pk, SK: sk, X: int(n)},
		}
		for _, doc := range docs {
			d, err := s.newDocument("get", doc)
			if err != nil {
				t.Fatal(err)
			}
			if d.plan == nil {
				t.Fatalf("%T takes the general path", doc)
			}
			if d.plan.locate(s, d.v, d) {
				g := general(t, s, doc)
				if err := s.readKeyFields("get", g); err != nil || d.key != g.key || d.rev != g.rev || d.hasRev != g.hasRev {
					t.Fatalf("%+v: locate: fast path %+v, general path %+v, %v", doc, d, g, err)
				}
			}
		}
	})
}
