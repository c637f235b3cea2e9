package localsign

import (
	"fmt"
	"net/http"
	"strings"
)

// AllowOrigins lets browser code served from the given origins use the
// Signer's URLs across origins (CORS), as an S3 bucket does once given a
// CORS configuration; without one, as by default, S3 and the handler
// refuse every preflight (403 AccessForbidden) and send no CORS headers,
// so a browser lets no other origin's script read a response. Each origin
// is a scheme, host and optional port as a browser sends it in the Origin
// header ("http://localhost:5173"), may hold one "*" standing for any
// characters ("http://*.example.test"), or is "*" for any origin.
// AllowOrigins replaces the origins allowed before; with none, CORS is off
// again. It panics on an empty origin or one with more than one "*",
// configuration errors. It may be called while the handler serves.
//
// For an allowed origin, the handler answers a preflight (OPTIONS with
// Origin and Access-Control-Request-Method GET or PUT, any signed URL or
// none, as S3 does not authenticate preflights) with 200 OK and
//
//	Access-Control-Allow-Origin: the origin ("*" if allowed by "*")
//	Access-Control-Allow-Methods: GET, PUT
//	Access-Control-Allow-Headers: the Access-Control-Request-Headers
//	Access-Control-Expose-Headers: ETag, x-amz-checksum-sha256
//	Access-Control-Allow-Credentials: true (unless allowed by "*")
//	Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method
//
// and adds the same headers but Access-Control-Allow-Headers to every
// response to a GET or PUT from the origin, refusals included, so that
// the script can read the status, the ETag and the XML error. A preflight
// from another origin, or for another method, gets 403 AccessForbidden;
// one without Origin or Access-Control-Request-Method, 400 BadRequest.
// That is S3's answer with this bucket CORS configuration, the one to give
// the production bucket:
//
//	<CORSConfiguration>
//	  <CORSRule>
//	    <AllowedOrigin>http://localhost:5173</AllowedOrigin>
//	    <AllowedMethod>GET</AllowedMethod>
//	    <AllowedMethod>PUT</AllowedMethod>
//	    <AllowedHeader>*</AllowedHeader>
//	    <ExposeHeader>ETag</ExposeHeader>
//	    <ExposeHeader>x-amz-checksum-sha256</ExposeHeader>
//	  </CORSRule>
//	</CORSConfiguration>
func (s *Signer) AllowOrigins(origins ...string) {
	if len(origins) == 0 {
		s.cors.Store(nil)
		return
	}
	rules := &corsRules{}
	for _, o := range origins {
		if o == "" || strings.Count(o, "*") > 1 {
			panic(fmt.Sprintf("localsign: CORS origin %q must be non-empty with at most one *", o))
		}
		rules.origins = append(rules.origins, o)
	}
	s.cors.Store(rules)
}

// corsRules are the origins allowed to use the Signer's URLs; a nil
// *corsRules allows none.
type corsRules struct {
	origins []string
}

// The CORS headers of the handler's answers.
const (
	corsMethods       = "GET, PUT"
	corsExposeHeaders = "ETag, x-amz-checksum-sha256"
	corsVary          = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
)

// allowed returns the Access-Control-Allow-Origin for origin: the origin,
// "*" if it is allowed as any origin, or "" if it is not allowed.
func (c *corsRules) allowed(origin string) string {
	if c == nil || origin == "" {
		return ""
	}
	for _, o := range c.origins {
		if o == "*" {
			return "*"
		}
		prefix, suffix, wild := strings.Cut(o, "*")
		if !wild && origin == o ||
			wild && len(origin) >= len(prefix)+len(suffix) && strings.HasPrefix(origin, prefix) && strings.HasSuffix(origin, suffix) {
			return origin
		}
	}
	return ""
}

// annotate adds the CORS headers of a GET or PUT answer to h, if the
// request comes from an allowed origin.
func (c *corsRules) annotate(h http.Header, r *http.Request) {
	if c == nil {
		return
	}
	h.Set("Vary", corsVary)
	allow := c.allowed(r.Header.Get("Origin"))
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if allow != "*" {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers a CORS preflight request (OPTIONS) as S3 does.
func (c *corsRules) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	switch {
	case origin == "":
		writeError(w, http.StatusBadRequest, "BadRequest", "Insufficient information. Origin request header needed.")
		return
	case method == "":
		writeError(w, http.StatusBadRequest, "BadRequest", "Invalid Access-Control-Request-Method: null")
		return
	case c == nil:
		writeError(w, http.StatusForbidden, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.",
			"Method", method, "ResourceType", "OBJECT")
		return
	}
	c.annotate(w.Header(), r)
	if w.Header().Get("Access-Control-Allow-Origin") == "" || method != "GET" && method != "PUT" {
		for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
			"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"} {
			w.Header().Del(name)
		}
		// S3's message, spelling and all.
		writeError(w, http.StatusForbidden, "AccessForbidden", "CORSResponse: This CORS request is not allowed. "+
			"This is usually because the evalution of Origin, request method / Access-Control-Request-Method or "+
			"Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
			"Method", method, "ResourceType", "OBJECT")
		return
	}
	if hs := r.Header.Values("Access-Control-Request-Headers"); len(hs) > 0 {
		// Every header is allowed (AllowedHeader *): S3 echoes the list,
		// in lower case.
		w.Header().Set("Access-Control-Allow-Headers", strings.ToLower(strings.Join(hs, ", ")))
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
