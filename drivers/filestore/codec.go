package filestore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/docblob/docblob/driver"
)

// A document file is one JSON object:
//
//	{"docblob":1,
//	 "key":{"partition":"acme","sort":"2026-001"},
//	 "revision":{"str":"..."},
//	 "fields":{"map":{"title":{"str":"March"},"pages":{"int":"12"}}}}
//
// Every value carries its type, so that each driver.Document value comes
// back exactly as it went in, Go type and all (in the spirit of DynamoDB's
// JSON, which however does not tell int64 from float64). The portable
// layer writes canonical values only (see driver.Document): the values
// DynamoDB gives back, so documents read back here as from DynamoDB. The
// "time" and "timeb" tags hold a time.Time that code calling the driver
// directly, or an older docblob, wrote; it comes back as a time.Time.
//
//	null                        nil
//	{"bool":true}               bool
//	{"int":"-12"}               int64 (a string: JSON numbers are float64)
//	{"float":"1.5"}             float64, shortest exact form; "NaN", "+Inf",
//	                            "-Inf"; {"floatbits":"7ff8000000000001"} for a
//	                            NaN, to keep its bits
//	{"str":"..."}               string; {"strb":"<base64>"} if not valid UTF-8
//	{"bytes":"<base64>"}        []byte; {"bytes":null} for a nil slice
//	{"time":"<RFC 3339>"}       time.Time, nanoseconds and UTC offset kept;
//	                            {"timeb":"<base64>"} (MarshalBinary) when the
//	                            text form would not round-trip
//	{"list":[...]}              []any; {"list":null} for a nil slice
//	{"map":{...}}               map[string]any; {"map":null} for a nil map;
//	                            {"mapb":[["<base64 name>",value],...]} if a
//	                            name is not valid UTF-8
//	{"dec":"1.50"}              driver.Decimal, its text as it is
//	{"sset":["a","b"]}          driver.StringSet, in its order; {"sset":null}
//	                            for a nil set; {"ssetb":["<base64>",...]} if
//	                            a string is not valid UTF-8
//	{"nset":["1","2.5"]}        driver.NumberSet, each Decimal's text;
//	                            {"nset":null} for a nil set
//	{"bset":["<base64>",...]}   driver.BinarySet; {"bset":null} for a nil
//	                            set, and null for a nil element
//
// Keys are valid UTF-8 (the driver checks), so they are plain strings. A
// time's location is kept as its UTC offset, like time.Time's own JSON.

const formatVersion = 1

type docFile struct {
	Version  int             `json:"docblob"`
	Key      docFileKey      `json:"key"`
	Revision json.RawMessage `json:"revision"`
	Fields   json.RawMessage `json:"fields"`
}

type docFileKey struct {
	Partition string  `json:"partition"`
	Sort      *string `json:"sort,omitempty"`
}

var errBadValue = errors.New("unsupported value")

// encodeDocument returns the file contents for doc.
func encodeDocument(doc *driver.Document, hasSort bool) ([]byte, error) {
	fields, err := encodeValue(doc.Fields)
	if err != nil {
		return nil, err
	}
	rev, err := encodeValue(doc.Revision)
	if err != nil {
		return nil, err
	}
	f := struct {
		Version  int        `json:"docblob"`
		Key      docFileKey `json:"key"`
		Revision any        `json:"revision"`
		Fields   any        `json:"fields"`
	}{Version: formatVersion, Key: docFileKey{Partition: doc.Key.Partition}, Revision: rev, Fields: fields}
	if hasSort {
		f.Key.Sort = &doc.Key.Sort
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeDocument parses a document file.
func decodeDocument(data []byte) (*driver.Document, error) {
	var f docFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if f.Version != formatVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", errCorrupt, f.Version)
	}
	doc := &driver.Document{Key: driver.Key{Partition: f.Key.Partition}}
	if f.Key.Sort != nil {
		doc.Key.Sort = *f.Key.Sort
	}
	rev, err := decodeRaw(f.Revision)
	if err != nil {
		return nil, err
	}
	var ok bool
	if doc.Revision, ok = rev.(string); !ok {
		return nil, fmt.Errorf("%w: revision is %T", errCorrupt, rev)
	}
	fields, err := decodeRaw(f.Fields)
	if err != nil {
		return nil, err
	}
	if doc.Fields, ok = fields.(map[string]any); !ok {
		return nil, fmt.Errorf("%w: fields are %T", errCorrupt, fields)
	}
	return doc, nil
}

func decodeRaw(raw json.RawMessage) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	out, err := decodeValue(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return out, nil
}

type kv = map[string]any

// encodeValue turns a document value into its tagged JSON form.
func encodeValue(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return kv{"bool": x}, nil
	case int64:
		return kv{"int": strconv.FormatInt(x, 10)}, nil
	case float64:
		if math.IsNaN(x) {
			return kv{"floatbits": strconv.FormatUint(math.Float64bits(x), 16)}, nil
		}
		return kv{"float": strconv.FormatFloat(x, 'g', -1, 64)}, nil
	case string:
		if utf8.ValidString(x) {
			return kv{"str": x}, nil
		}
		return kv{"strb": base64.StdEncoding.EncodeToString([]byte(x))}, nil
	case []byte:
		if x == nil {
			return kv{"bytes": nil}, nil
		}
		return kv{"bytes": base64.StdEncoding.EncodeToString(x)}, nil
	case time.Time:
		return encodeTime(x)
	case []any:
		if x == nil {
			return kv{"list": nil}, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = encodeValue(e); err != nil {
				return nil, err
			}
		}
		return kv{"list": out}, nil
	case map[string]any:
		if x == nil {
			return kv{"map": nil}, nil
		}
		valid := true
		for k := range x {
			if !utf8.ValidString(k) {
				valid = false
				break
			}
		}
		if valid {
			out := make(map[string]any, len(x))
			for k, e := range x {
				var err error
				if out[k], err = encodeValue(e); err != nil {
					return nil, err
				}
			}
			return kv{"map": out}, nil
		}
		out := make([]any, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			ev, err := encodeValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, []any{base64.StdEncoding.EncodeToString([]byte(k)), ev})
		}
		return kv{"mapb": out}, nil
	case driver.Decimal:
		if !utf8.ValidString(string(x)) {
			return nil, fmt.Errorf("%w: %w: a Decimal that is not valid UTF-8", errInvalid, errBadValue)
		}
		return kv{"dec": string(x)}, nil
	case driver.StringSet:
		if x == nil {
			return kv{"sset": nil}, nil
		}
		if !slices.ContainsFunc(x, func(s string) bool { return !utf8.ValidString(s) }) {
			return kv{"sset": []string(x)}, nil
		}
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = base64.StdEncoding.EncodeToString([]byte(e))
		}
		return kv{"ssetb": out}, nil
	case driver.NumberSet:
		if x == nil {
			return kv{"nset": nil}, nil
		}
		out := make([]string, len(x))
		for i, e := range x {
			if !utf8.ValidString(string(e)) {
				return nil, fmt.Errorf("%w: %w: a Decimal that is not valid UTF-8", errInvalid, errBadValue)
			}
			out[i] = string(e)
		}
		return kv{"nset": out}, nil
	case driver.BinarySet:
		if x == nil {
			return kv{"bset": nil}, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			if e != nil {
				out[i] = base64.StdEncoding.EncodeToString(e)
			}
		}
		return kv{"bset": out}, nil
	default:
		return nil, fmt.Errorf("%w: %w %T", errInvalid, errBadValue, v)
	}
}

func encodeTime(t time.Time) (any, error) {
	s := t.Format(time.RFC3339Nano)
	back, err := time.Parse(time.RFC3339Nano, s)
	if err == nil && back.Equal(t) && sameOffset(back, t) {
		return kv{"time": s}, nil
	}
	b, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: time %v: %v", errInvalid, t, err)
	}
	return kv{"timeb": base64.StdEncoding.EncodeToString(b)}, nil
}

func sameOffset(a, b time.Time) bool {
	_, oa := a.Zone()
	_, ob := b.Zone()
	return oa == ob
}

// decodeValue turns a tagged JSON value (as parsed by encoding/json into
// any) back into a document value.
func decodeValue(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, fmt.Errorf("untagged value %T", v)
	}
	for tag, x := range m {
		switch tag {
		case "bool":
			b, ok := x.(bool)
			if !ok {
				return nil, fmt.Errorf("bool holds %T", x)
			}
			return b, nil
		case "int":
			s, _ := x.(string)
			return strconv.ParseInt(s, 10, 64)
		case "float":
			s, _ := x.(string)
			return strconv.ParseFloat(s, 64)
		case "floatbits":
			s, _ := x.(string)
			u, err := strconv.ParseUint(s, 16, 64)
			return math.Float64frombits(u), err
		case "str":
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("str holds %T", x)
			}
			return s, nil
		case "strb":
			b, err := decodeBase64(x)
			return string(b), err
		case "bytes":
			if x == nil {
				return []byte(nil), nil
			}
			b, err := decodeBase64(x)
			if b == nil {
				b = []byte{}
			}
			return b, err
		case "time":
			s, _ := x.(string)
			return time.Parse(time.RFC3339Nano, s)
		case "timeb":
			b, err := decodeBase64(x)
			if err != nil {
				return nil, err
			}
			var t time.Time
			return t, t.UnmarshalBinary(b)
		case "list":
			if x == nil {
				return []any(nil), nil
			}
			l, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("list holds %T", x)
			}
			out := make([]any, len(l))
			for i, e := range l {
				var err error
				if out[i], err = decodeValue(e); err != nil {
					return nil, err
				}
			}
			return out, nil
		case "map":
			if x == nil {
				return map[string]any(nil), nil
			}
			mm, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("map holds %T", x)
			}
			out := make(map[string]any, len(mm))
			for k, e := range mm {
				var err error
				if out[k], err = decodeValue(e); err != nil {
					return nil, err
				}
			}
			return out, nil
		case "mapb":
			l, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("mapb holds %T", x)
			}
			out := make(map[string]any, len(l))
			for _, e := range l {
				pair, ok := e.([]any)
				if !ok || len(pair) != 2 {
					return nil, fmt.Errorf("mapb entry %T", e)
				}
				k, err := decodeBase64(pair[0])
				if err != nil {
					return nil, err
				}
				if out[string(k)], err = decodeValue(pair[1]); err != nil {
					return nil, err
				}
			}
			return out, nil
		case "dec":
			d, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("dec holds %T", x)
			}
			return driver.Decimal(d), nil
		case "sset", "ssetb":
			if x == nil && tag == "sset" {
				return driver.StringSet(nil), nil
			}
			l, err := decodeStrings(tag, x, tag == "ssetb")
			return driver.StringSet(l), err
		case "nset":
			if x == nil {
				return driver.NumberSet(nil), nil
			}
			l, err := decodeStrings(tag, x, false)
			if err != nil {
				return nil, err
			}
			out := make(driver.NumberSet, len(l))
			for i, e := range l {
				out[i] = driver.Decimal(e)
			}
			return out, nil
		case "bset":
			if x == nil {
				return driver.BinarySet(nil), nil
			}
			l, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("bset holds %T", x)
			}
			out := make(driver.BinarySet, len(l))
			for i, e := range l {
				if e == nil {
					continue
				}
				b, err := decodeBase64(e)
				if err != nil {
					return nil, err
				}
				if b == nil {
					b = []byte{}
				}
				out[i] = b
			}
			return out, nil
		}
		return nil, fmt.Errorf("unknown tag %q", tag)
	}
	panic("unreachable")
}

// decodeStrings decodes a list of strings, base64 encoded if b64.
func decodeStrings(tag string, x any, b64 bool) ([]string, error) {
	l, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("%s holds %T", tag, x)
	}
	out := make([]string, len(l))
	for i, e := range l {
		if b64 {
			b, err := decodeBase64(e)
			if err != nil {
				return nil, err
			}
			out[i] = string(b)
			continue
		}
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s holds a %T", tag, e)
		}
		out[i] = s
	}
	return out, nil
}

func decodeBase64(x any) ([]byte, error) {
	s, ok := x.(string)
	if !ok {
		return nil, fmt.Errorf("base64 value holds %T", x)
	}
	return base64.StdEncoding.DecodeString(s)
}
