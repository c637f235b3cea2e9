package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/docblob/docblob"
)

func TestExpandBetween(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ls acme --between a b", "ls acme --between=a --between=b"},
		{"ls --between a b acme", "ls --between=a --between=b acme"},
		{"ls --between=a b acme", "ls --between=a --between=b acme"},
		{"ls --between -a -b acme", "ls --between=-a --between=-b acme"},
		{"ls --between a", "ls --between a"},
		{"ls -- --between a b", "ls -- --between a b"},
	}
	for _, c := range cases {
		if got := strings.Join(expandBetween(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("expandBetween(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestJSONValues(t *testing.T) {
	in := map[string]any{
		"int": int64(3), "float": 1.5, "dec": docblob.Decimal("123456789012345678901234567890.5"),
		"ss": docblob.StringSet{"a"}, "ns": docblob.NumberSet{"1", "2.5"}, "bs": docblob.BinarySet{[]byte("x")},
		"list": []any{int64(1), map[string]any{"a": nil}}, "bytes": []byte("hi"),
	}
	b, err := marshalLine(jsonValue(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"bs":["eA=="],"bytes":"aGk=","dec":123456789012345678901234567890.5,"float":1.5,"int":3,"list":[1,{"a":null}],"ns":[1,2.5],"ss":["a"]}` + "\n"
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}

	dec := json.NewDecoder(strings.NewReader(`{"i":42,"f":0.1,"d":123456789012345678901234567890,"n":{"l":[1,"x"]}}`))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	got := fromJSON(m)
	wantM := map[string]any{"i": int64(42), "f": 0.1, "d": docblob.Decimal("123456789012345678901234567890"),
		"n": map[string]any{"l": []any{int64(1), "x"}}}
	if !reflect.DeepEqual(got, wantM) {
		t.Errorf("fromJSON: %#v", got)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 100 << 20: "100.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
