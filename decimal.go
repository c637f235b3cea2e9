package docblob

import "github.com/docblob/docblob/driver"

// Decimal is a number as DynamoDB stores it, kept as decimal text so that
// no digit is lost: "12345678901234567890", "-0.5", "1E-130". Use it for
// fields that hold identifiers or amounts beyond int64 and float64:
//
//	type Account struct {
//		ID      docblob.Decimal `docstore:"id"`      // any number, exactly
//		Balance docblob.Decimal `docstore:"balance"` // "12345.67"
//	}
//
// Its methods convert it exactly or fail: Int64, Uint64, Float64 and Rat;
// Check reports whether DynamoDB can store it (at most 38 significant
// digits, magnitude 0 or between 1e-130 and 9.99…e125), and Equal
// compares numbers by value ("1.50" equals "1.5"). See [driver.Decimal].
//
// Numbers and sets are kept without loss on every driver, and come back
// alike on every driver, in the form DynamoDB gives them back (see
// driver.Document for every value type's canonical form):
//
//   - A Decimal field, or a Decimal value in a map[string]any document, is
//     stored as a number, written as DynamoDB writes numbers: as an int64
//     if it is an integer that fits, as a float64 if that float64 is the
//     same number, and otherwise as a Decimal in plain normal text (no
//     exponent, no superfluous zeros: "12345678901234567890.10" is stored
//     as "12345678901234567890.1"). Read back into a Decimal field, it is
//     the same number, though perhaps spelled otherwise ("1.50" reads back
//     as "1.5", "1E+20" as "1e+20"): compare Decimals with Equal. The zero
//     Decimal, "", is no number:
//     it is stored as null, and null reads back into a Decimal as "". A
//     Decimal that DynamoDB cannot store (Check) is refused with code
//     InvalidArgument when the document is written.
//   - Any other number is stored by the same rule: a float64 (or float32)
//     with an integral value as an int64, a uint64 beyond int64's range
//     as a Decimal (or a float64 that is the same number).
//   - StringSet, NumberSet and BinarySet fields and values are stored as
//     sets, sorted (numbers by value, in plain normal text). A nil or
//     empty set is stored as null, since DynamoDB has no empty sets; null
//     reads back as a nil set. A set with duplicates is refused with code
//     InvalidArgument.
//   - Read into a map[string]any document or an any field, a number comes
//     back as an int64 if it is an integer that fits, as a float64 if that
//     float64 is the same number (see Decimal.Float64), and otherwise as a
//     Decimal; a set comes back as a set. Put the map back and the stored
//     item is unchanged: nothing was rounded and no set became a list.
//   - A time.Time is stored as its RFC 3339 text with nanoseconds, in UTC,
//     as DynamoDB keeps it: a string, which decodes back into a time.Time
//     field (in UTC) and comes back as that string in a map[string]any
//     document. A time outside the years 0 to 9999, which has no RFC 3339
//     text, is refused with code InvalidArgument.
//   - Read into a Go integer field (int, int8, ..., uint64), a number must
//     be an integer within the field's range; into a float64 field, a
//     number a float64 holds exactly (0.1 is fine: it is the float64 0.1
//     written back). Any other number makes Get fail with code
//     InvalidArgument, naming the field and the number and suggesting a
//     Decimal field, rather than round it. A float32 field receives the
//     float64 rounded to float32, as Go converts. A Decimal field receives
//     any number exactly (an int64 or float64 in its shortest form).
//   - Read into a slice field ([]string, []int64, []Decimal, [][]byte,
//     ...), a set fills the slice as a list would, and the field is then
//     written back as a list; use the set types to keep sets. Read into a
//     set field, a list of elements of the set's type fills the set.
//
// The codec knows these types by identity: a type defined from one (type
// ID docblob.Decimal) is an ordinary string or slice type to it, stored
// as a string or a list.
type Decimal = driver.Decimal

// StringSet is a DynamoDB string set: distinct strings, at least one, in
// no particular order. A field of this type is stored as a set (SS), not a
// list. See [driver.StringSet].
type StringSet = driver.StringSet

// NumberSet is a DynamoDB number set: distinct numbers, at least one, in
// no particular order, each a Decimal. A field of this type is stored as a
// set (NS), not a list. See [driver.NumberSet].
type NumberSet = driver.NumberSet

// BinarySet is a DynamoDB binary set: distinct byte strings, at least one,
// in no particular order. A field of this type is stored as a set (BS),
// not a list. See [driver.BinarySet].
type BinarySet = driver.BinarySet
