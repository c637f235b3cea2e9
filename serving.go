package docblob

import (
	"fmt"
	"mime"
	"strings"
)

// Safe serving
//
// A signed download URL is served from the blob store's origin (or, with
// localsign, from the application's own), so a payload that a browser
// renders as a page can run script there: an HTML file uploaded as
// "cv.pdf" is a stored cross-site scripting attack. The rule, applied by
// Blob.SignedURL on every driver:
//
//   - Payloads whose type a browser only displays (images other than SVG,
//     audio, video, PDF, plain text, CSV, JSON) are served as recorded.
//   - Everything else (HTML, XHTML, SVG, XML, JavaScript, and any type
//     not on that list, application/octet-stream included) is served with
//     Content-Disposition: attachment, so the browser downloads it.
//     Serving it inline needs SignedURLOptions.AllowActiveContent.
//   - When a payload is stored, a declared content type that is displayed
//     inline gives way to the sniffed one if the bytes sniff as active
//     content (see resolveContentType): the recorded type errs on the
//     side of downloading.

// inlineSafeTypes are the media types a browser displays without running
// anything the payload contains.
var inlineSafeTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/bmp": true, "image/apng": true,
	"image/x-icon": true, "image/vnd.microsoft.icon": true,
	"application/pdf": true, "text/plain": true, "text/csv": true,
	"application/json": true,
}

// inlineSafe reports whether a browser may display a payload of media type
// ct inline without risk of running it.
func inlineSafe(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	if inlineSafeTypes[mt] {
		return true
	}
	return strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/")
}

// resolveContentType decides the recorded type of a payload from the type
// declared for it (possibly "") and the type sniffed from its bytes: the
// declared one, unless it is displayed inline while the bytes sniff as
// something that is not (HTML declared as a PDF, say), in which case the
// sniffed one, so that the payload is downloaded rather than rendered.
func resolveContentType(declared, sniffed string) string {
	switch {
	case declared == "":
		return sniffed
	case inlineSafe(declared) && !inlineSafe(sniffed) && sniffedActive(sniffed):
		return sniffed
	}
	return declared
}

// sniffedActive reports whether http.DetectContentType's answer names
// content a browser would run or render as a document. Its generic
// answers (application/octet-stream, text/plain) say nothing either way.
func sniffedActive(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "text/html", "text/xml", "application/xml", "image/svg+xml", "application/xhtml+xml",
		"text/javascript", "application/javascript", "application/x-javascript":
		return true
	}
	return false
}

// checkContentType checks a content type given by the caller: "" (to be
// sniffed) or a media type that parses, with nothing a header cannot hold,
// as S3 requires.
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return fmt.Errorf("content type %q: %v", ct, err)
	}
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c < ' ' || c > '~' {
			return fmt.Errorf("content type %q holds a byte a header cannot", ct)
		}
	}
	return nil
}

// attachmentDisposition returns a Content-Disposition that makes a
// browser download the payload, under its recorded name if it has one.
func attachmentDisposition(name string) string {
	if name != "" {
		if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
			return v
		}
	}
	return "attachment"
}
