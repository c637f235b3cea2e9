package gocloud

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/docblob/docblob/driver"
)

// The encoding of field values in a gocloud.dev/docstore document. Values
// that every docstore backend keeps as they are (non-empty strings, bools,
// nil, small integers, floats, non-empty bytes, lists and maps) are stored
// as they are, so the document stays readable with the backend's own
// tools. The others are stored as a map with a single key that names the
// type (a tag):
//
//	{"~s": true}              the empty string (awsdynamodb stores "" as NULL)
//	{"~b": true}              empty bytes
//	{"~n": "12345678901234567890"}
//	                          a Decimal, or an int64 beyond ±2^53 (awsdynamodb
//	                          reads every number through a float64)
//	{"~ss": [...]}            a StringSet, its elements encoded as strings are
//	{"~ns": ["1", "2.5"]}     a NumberSet, as text
//	{"~bs": [...]}            a BinarySet, its elements encoded as bytes are
//
// A key of a nested map that begins with '~' is stored with one more '~' in
// front, so that no map of the user's reads as a tag.
const (
	tagString    = "~s"
	tagBytes     = "~b"
	tagNumber    = "~n"
	tagStringSet = "~ss"
	tagNumberSet = "~ns"
	tagBinarySet = "~bs"
)

// maxExactInt is the largest integer that every number a float64 can
// represent exactly up to.
const maxExactInt = 1 << 53

// encodeValue returns v, a canonical field value, in its stored form.
func encodeValue(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return map[string]any{tagString: true}
		}
		return x
	case []byte:
		if len(x) == 0 {
			return map[string]any{tagBytes: true}
		}
		return bytes.Clone(x)
	case int64:
		if x > maxExactInt || x < -maxExactInt {
			return map[string]any{tagNumber: strconv.FormatInt(x, 10)}
		}
		return x
	case driver.Decimal:
		return map[string]any{tagNumber: string(x)}
	case driver.StringSet:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = encodeValue(s)
		}
		return map[string]any{tagStringSet: l}
	case driver.NumberSet:
		l := make([]any, len(x))
		for i, n := range x {
			l[i] = string(n)
		}
		return map[string]any{tagNumberSet: l}
	case driver.BinarySet:
		l := make([]any, len(x))
		for i, b := range x {
			l[i] = encodeValue(b)
		}
		return map[string]any{tagBinarySet: l}
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = encodeValue(e)
		}
		return l
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if strings.HasPrefix(k, "~") {
				k = "~" + k
			}
			m[k] = encodeValue(e)
		}
		return m
	default:
		return v // nil, bool, float64
	}
}

// decodeValue returns the field value that v, a value read from the
// collection, stores, not yet in canonical form.
func decodeValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return v, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		// awsdynamodb reads an integral number in [2^63, 2^64) as a uint64;
		// it was a float64.
		return float64(x), nil
	case float32:
		return float64(x), nil
	case []byte:
		return bytes.Clone(x), nil
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			d, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			l[i] = d
		}
		return l, nil
	case map[string]any:
		if len(x) == 1 {
			for k, e := range x {
				if d, ok, err := decodeTag(k, e); ok || err != nil {
					return d, err
				}
			}
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			d, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(k, "~~") {
				k = k[1:]
			}
			m[k] = d
		}
		return m, nil
	}
	return nil, fmt.Errorf("gocloud: unexpected value of type %T in a stored document", v)
}

// decodeTag decodes the tagged value {k: v}, and reports whether k is a
// tag.
func decodeTag(k string, v any) (any, bool, error) {
	bad := func() (any, bool, error) {
		return nil, true, fmt.Errorf("gocloud: malformed tagged value {%q: %v}", k, v)
	}
	switch k {
	case tagString:
		return "", true, nil
	case tagBytes:
		return []byte{}, true, nil
	case tagNumber:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		d := driver.Decimal(s)
		if d.Check() != nil {
			return bad()
		}
		return driver.CanonicalDecimal(d), true, nil
	case tagStringSet, tagNumberSet, tagBinarySet:
		l, ok := v.([]any)
		if !ok {
			return bad()
		}
		switch k {
		case tagStringSet:
			set := make(driver.StringSet, len(l))
			for i, e := range l {
				d, err := decodeValue(e)
				s, ok := d.(string)
				if err != nil || !ok {
					return bad()
				}
				set[i] = s
			}
			return set, true, nil
		case tagNumberSet:
			set := make(driver.NumberSet, len(l))
			for i, e := range l {
				s, ok := e.(string)
				if !ok || driver.Decimal(s).Check() != nil {
					return bad()
				}
				set[i] = driver.Decimal(s)
			}
			return set, true, nil
		default:
			set := make(driver.BinarySet, len(l))
			for i, e := range l {
				d, err := decodeValue(e)
				b, ok := d.([]byte)
				if err != nil || !ok {
					return bad()
				}
				set[i] = b
			}
			return set, true, nil
		}
	}
	return nil, false, nil
}
