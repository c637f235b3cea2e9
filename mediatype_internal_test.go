package docblob

import (
	"mime"
	"strings"
	"testing"
)

// TestExtensionTypesParse checks that every type of the extension table
// is a media type that parses, keyed by a lower-case extension.
func TestExtensionTypesParse(t *testing.T) {
	for ext, ct := range extensionTypes {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			t.Errorf("%s: %q does not parse: %v", ext, ct, err)
		}
		if len(ext) < 2 || ext[0] != '.' || ext != strings.ToLower(ext) {
			t.Errorf("extension %q is not a lower-case .ext", ext)
		}
	}
}
