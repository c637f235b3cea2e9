package driver

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// KeyParams is what a driver URL says about the key attributes. Every
// scheme (mem://, file://, s3dynamo://) reads it with ParseKeyParams, so
// that the same parameters give the same Info.PartitionKey and
// Info.SortKey everywhere. Its fields match the drivers' Options fields of
// the same names.
type KeyParams struct {
	// PartitionKey is the partition_key parameter, or "" if it is absent
	// (the driver's default, "pk").
	PartitionKey string
	// SortKey is the sort_key parameter, or "" if it is absent (the
	// driver's default, "sk") or NoSortKey is set.
	SortKey string
	// NoSortKey reports that documents are keyed by a partition key only:
	// no_sort_key=true, or sort_key= with an empty value.
	NoSortKey bool
}

// The key parameters of every driver URL.
const (
	ParamPartitionKey = "partition_key"
	ParamSortKey      = "sort_key"
	ParamNoSortKey    = "no_sort_key"
)

// IsKeyParam reports whether name is one of the key parameters that
// ParseKeyParams reads.
func IsKeyParam(name string) bool {
	return name == ParamPartitionKey || name == ParamSortKey || name == ParamNoSortKey
}

// ParseKeyParams reads the key parameters of a driver URL's query, the
// grammar every scheme shares:
//
//	partition_key=NAME   the partition key attribute (default "pk")
//	sort_key=NAME        the sort key attribute (default "sk")
//	no_sort_key=BOOL     true: documents have a partition key only
//	sort_key=            (empty) the same as no_sort_key=true
//
// It first checks that no parameter of q, key parameter or not, is given
// more than once: a URL that names a value twice is refused, whichever
// scheme it is for. It also refuses an empty partition_key, a
// no_sort_key that strconv.ParseBool does not read, a sort_key=NAME
// together with no_sort_key=true, an empty sort_key together with
// no_sort_key=false, and partition_key and sort_key naming the same
// attribute. It ignores the other parameters, which the caller checks.
// Its errors are *Error values with code InvalidArgument that name the
// parameter, and that a driver prefixes with its name.
func ParseKeyParams(q url.Values) (KeyParams, error) {
	var dups []string
	for name, vs := range q {
		if len(vs) > 1 {
			dups = append(dups, fmt.Sprintf("%q (%d times)", name, len(vs)))
		}
	}
	if len(dups) > 0 {
		sort.Strings(dups)
		return KeyParams{}, urlParamError("URL parameters may be given once each; given more often: %s", strings.Join(dups, ", "))
	}
	var p KeyParams
	if vs, ok := q[ParamPartitionKey]; ok {
		if vs[0] == "" {
			return KeyParams{}, urlParamError("URL parameter partition_key is empty; omit it for the default partition key attribute")
		}
		p.PartitionKey = vs[0]
	}
	noSortKey, noSortKeyGiven := false, false
	if vs, ok := q[ParamNoSortKey]; ok {
		b, err := strconv.ParseBool(vs[0])
		if err != nil {
			return KeyParams{}, urlParamError("URL parameter no_sort_key=%q is not a boolean", vs[0])
		}
		noSortKey, noSortKeyGiven = b, true
	}
	if vs, ok := q[ParamSortKey]; ok {
		switch {
		case vs[0] == "" && noSortKeyGiven && !noSortKey:
			return KeyParams{}, urlParamError("URL parameter sort_key= (empty) means no sort key, but no_sort_key=false")
		case vs[0] == "":
			noSortKey = true
		case noSortKey:
			return KeyParams{}, urlParamError("URL parameters sort_key=%q and no_sort_key=true contradict each other", vs[0])
		default:
			p.SortKey = vs[0]
		}
	}
	p.NoSortKey = noSortKey
	if p.SortKey != "" && p.SortKey == p.PartitionKey {
		return KeyParams{}, urlParamError("URL parameters partition_key and sort_key both name %q: the partition and sort key attributes must differ", p.SortKey)
	}
	return p, nil
}

func urlParamError(format string, args ...any) error {
	return &Error{Code: InvalidArgument, Err: fmt.Errorf(format, args...)}
}
