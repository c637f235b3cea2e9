package docblob

import "strings"

// typeByExtension returns the media type of a file name's extension
// (".pdf", any case), or "" if it is not one of extensionTypes.
//
// It does not use mime.TypeByExtension, whose first call parses the
// machine's MIME tables (/etc/mime.types, /usr/share/mime/globs2, …):
// some milliseconds and about 16,000 allocations on the first Put of a
// process, a cold start's cost, and a media type that depends on which
// tables the machine has, so that the same Put recorded different types
// on a laptop and on AWS Lambda.
func typeByExtension(ext string) string {
	return extensionTypes[strings.ToLower(ext)]
}

// extensionTypes are the extensions BlobOptions.ContentType falls back to
// when a payload's bytes sniff as nothing more than
// application/octet-stream: Go's built-in ones (see mime.TypeByExtension)
// and common document, office, archive, media and font formats.
var extensionTypes = map[string]string{
	".7z":      "application/x-7z-compressed",
	".avif":    "image/avif",
	".bmp":     "image/bmp",
	".css":     "text/css; charset=utf-8",
	".csv":     "text/csv; charset=utf-8",
	".doc":     "application/msword",
	".docx":    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".eml":     "message/rfc822",
	".epub":    "application/epub+zip",
	".gif":     "image/gif",
	".gz":      "application/gzip",
	".heic":    "image/heic",
	".htm":     "text/html; charset=utf-8",
	".html":    "text/html; charset=utf-8",
	".ico":     "image/vnd.microsoft.icon",
	".ics":     "text/calendar; charset=utf-8",
	".jpeg":    "image/jpeg",
	".jpg":     "image/jpeg",
	".js":      "text/javascript; charset=utf-8",
	".json":    "application/json",
	".md":      "text/markdown; charset=utf-8",
	".mjs":     "text/javascript; charset=utf-8",
	".mov":     "video/quicktime",
	".mp3":     "audio/mpeg",
	".mp4":     "video/mp4",
	".odp":     "application/vnd.oasis.opendocument.presentation",
	".ods":     "application/vnd.oasis.opendocument.spreadsheet",
	".odt":     "application/vnd.oasis.opendocument.text",
	".oga":     "audio/ogg",
	".ogg":     "audio/ogg",
	".ogv":     "video/ogg",
	".otf":     "font/otf",
	".parquet": "application/vnd.apache.parquet",
	".pdf":     "application/pdf",
	".png":     "image/png",
	".ppt":     "application/vnd.ms-powerpoint",
	".pptx":    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".rtf":     "application/rtf",
	".svg":     "image/svg+xml",
	".tar":     "application/x-tar",
	".tif":     "image/tiff",
	".tiff":    "image/tiff",
	".ttf":     "font/ttf",
	".txt":     "text/plain; charset=utf-8",
	".wasm":    "application/wasm",
	".wav":     "audio/wav",
	".webm":    "video/webm",
	".webp":    "image/webp",
	".woff":    "font/woff",
	".woff2":   "font/woff2",
	".xls":     "application/vnd.ms-excel",
	".xlsx":    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".xml":     "text/xml; charset=utf-8",
	".yaml":    "application/yaml",
	".yml":     "application/yaml",
	".zip":     "application/zip",
}
