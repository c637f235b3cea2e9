package driver

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// CheckDynamoDBValues checks document fields against DynamoDB's rules for
// attribute names and values, so that a driver that is not DynamoDB (an
// in-memory or file-backed test double) refuses what production would:
//
//   - attribute names, at every depth, are non-empty valid UTF-8;
//   - strings are valid UTF-8;
//   - numbers are finite, and zero or of magnitude between 1e-130 and
//     9.9999999999999999999999999999999999999e125 (float64 values outside
//     that range, NaN and ±Inf are refused); Decimals are valid number
//     text of at most 38 significant digits (see Decimal.Check);
//   - sets (StringSet, NumberSet, BinarySet) are not empty and hold no
//     duplicates (numbers by value), their strings are valid UTF-8 and
//     their numbers valid Decimals;
//   - documents nest at most 32 levels deep.
//
// The error is a *Error with code InvalidArgument that names the
// offending attribute.
func CheckDynamoDBValues(fields map[string]any) error {
	return checkMap(fields, "", 1)
}

func checkMap(m map[string]any, path string, depth int) error {
	if depth > DynamoDBMaxDepth {
		return invalidValue("attribute %s nests deeper than DynamoDB's %d levels", path, DynamoDBMaxDepth)
	}
	for k, v := range m {
		switch {
		case k == "":
			return invalidValue("an attribute name in %q is empty, which DynamoDB refuses", "."+path)
		case !utf8.ValidString(k):
			return invalidValue("attribute name %q is not valid UTF-8", k)
		}
		if err := checkValue(v, attrPath{path, k, -1}, depth); err != nil {
			return err
		}
	}
	return nil
}

// attrPath names an attribute by the path of the map or list that holds
// it and its name or index. Its text is made only when needed (an error,
// or an attribute that holds more), so that checking a typical document,
// whose maps hold scalars, allocates nothing.
type attrPath struct {
	parent string // "" for a top-level field
	name   string
	index  int // >= 0 for a list element
}

func (p attrPath) String() string {
	switch {
	case p.index >= 0:
		return fmt.Sprintf("%s[%d]", p.parent, p.index)
	case p.parent == "":
		return p.name
	}
	return p.parent + "." + p.name
}

func checkValue(v any, path attrPath, depth int) error {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return invalidValue("attribute %q holds a string that is not valid UTF-8", path.String())
		}
	case float64:
		if err := checkNumber(x); err != nil {
			return invalidValue("attribute %q: %v", path.String(), err)
		}
	case Decimal:
		if err := x.Check(); err != nil {
			return fmt.Errorf("attribute %q: %w", path.String(), err)
		}
	case StringSet:
		return setError(path, checkSet(x, func(s string) (string, error) {
			if !utf8.ValidString(s) {
				return "", errNotUTF8
			}
			return s, nil
		}))
	case NumberSet:
		return setError(path, checkSet(x, func(d Decimal) (string, error) {
			if err := d.Check(); err != nil {
				return "", err
			}
			return d.key(), nil
		}))
	case BinarySet:
		return setError(path, checkSet(x, func(b []byte) (string, error) { return string(b), nil }))
	case []any:
		p := path.String()
		if depth+1 > DynamoDBMaxDepth {
			return invalidValue("attribute %s nests deeper than DynamoDB's %d levels", p, DynamoDBMaxDepth)
		}
		for i, e := range x {
			if err := checkValue(e, attrPath{p, "", i}, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		return checkMap(x, path.String(), depth+1)
	}
	return nil
}

// checkNumber checks a float64 against DynamoDB's number range.
func checkNumber(f float64) error {
	a := math.Abs(f)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return fmt.Errorf("%v is not a number DynamoDB can store", f)
	case a != 0 && a < 1e-130:
		return fmt.Errorf("%v is smaller in magnitude than DynamoDB's 1e-130", f)
	case a >= 1e126:
		return fmt.Errorf("%v is larger in magnitude than DynamoDB's 9.99…e125", f)
	}
	return nil
}

// checkSet checks that a set is not empty and that its elements are valid
// and distinct, as told apart by key (which also checks an element). Its
// errors are setError's to word.
func checkSet[E any](set []E, key func(E) (string, error)) error {
	if len(set) == 0 {
		return errEmptySet
	}
	seen := make(map[string]bool, len(set))
	for _, e := range set {
		k, err := key(e)
		if err != nil {
			return err
		}
		if seen[k] {
			return errDuplicates
		}
		seen[k] = true
	}
	return nil
}

// The errors of checkSet that setError words.
var (
	errEmptySet   = errors.New("empty set")
	errDuplicates = errors.New("duplicate set elements")
	errNotUTF8    = errors.New("set string not valid UTF-8")
)

// setError returns the error of the set at path that checkSet refused
// with err, naming the attribute.
func setError(path attrPath, err error) error {
	switch err {
	case nil:
		return nil
	case errEmptySet:
		return invalidValue("attribute %q holds an empty set, which DynamoDB refuses", path.String())
	case errDuplicates:
		return invalidValue("attribute %q holds a set with duplicate elements, which DynamoDB refuses", path.String())
	case errNotUTF8:
		return invalidValue("attribute %q holds a string that is not valid UTF-8", path.String())
	}
	return fmt.Errorf("attribute %q: %w", path.String(), err) // a number's, from Decimal.Check
}

// invalidValue returns the *Error of a value DynamoDB refuses.
func invalidValue(format string, args ...any) error {
	return &Error{Code: InvalidArgument, Err: fmt.Errorf(format, args...)}
}
