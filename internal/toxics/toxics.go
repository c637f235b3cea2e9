// Package toxics runs toxiproxy (github.com/Shopify/toxiproxy/v2) in
// process, in front of the loopback test servers, for network fault tests:
// latency, resets, black holes and responses cut after the server applied
// a request.
//
// A Proxy listens on a free 127.0.0.1 port and forwards to one server;
// clients point their endpoint at Proxy.URL. Toxics are added and removed
// while traffic flows, and apply to the proxy's open connections (idle
// keep-alive ones included) as well as to new ones.
//
// Besides toxiproxy's own toxics (latency, timeout, reset_peer,
// limit_data, ...), the package registers one of its own, "docblob_cut"
// (see Cut), which cuts only the first few connections, so that a test can
// lose exactly one response and let the next request through.
package toxics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	tx "github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/docblob/docblob/internal/testservers"
	"github.com/rs/zerolog"
)

// The directions a toxic applies to.
const (
	// Upstream is the client-to-server direction: requests.
	Upstream = "upstream"
	// Downstream is the server-to-client direction: responses.
	Downstream = "downstream"
)

// cutType is the type name of the Cut toxic.
const cutType = "docblob_cut"

// rstName names the hidden toxic that makes every close a reset.
const rstName = "docblob-rst-on-close"

func init() {
	tx.Register(cutType, new(Cut))
}

// Server holds in-process proxies. Its zero value is not usable; call
// NewServer.
type Server struct {
	api *toxiproxy.ApiServer
}

// NewServer returns a toxiproxy server whose HTTP API is never started
// and whose logs are discarded: proxies are driven through Go calls only.
func NewServer() *Server {
	return &Server{api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
}

// ProxyOptions configure a Proxy.
type ProxyOptions struct {
	// ResetOnClose makes the proxy close both sides of every connection
	// with a TCP reset (SO_LINGER 0) rather than a FIN whenever it closes
	// one, so that the toxics that close connections (limit_data,
	// docblob_cut, timeout with a timeout) look like "connection reset by
	// peer" to the client. toxiproxy sets SO_LINGER 0 only on connections
	// opened while a reset_peer toxic is installed, so the proxy installs a
	// reset_peer toxic that never fires (toxicity 0) before it starts.
	//
	// Leave it off where a request that the client gave up on should still
	// reach the server (a late write): a reset discards data not yet sent.
	ResetOnClose bool
}

// Proxy is one toxiproxy proxy in front of one server.
type Proxy struct {
	p   *toxiproxy.Proxy
	url string
	seq atomic.Int64

	mu    sync.Mutex
	names map[string]bool // toxics added and not removed
}

// NewProxy starts a proxy on a free 127.0.0.1 port in front of the server
// at endpoint, an http:// URL on loopback. opts may be nil.
func (s *Server) NewProxy(name, endpoint string, opts *ProxyOptions) (*Proxy, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("toxics: endpoint %q: %v", endpoint, err)
	}
	if u.Scheme != "http" || u.Port() == "" || !testservers.IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("toxics: endpoint %q is not an http://host:port URL on loopback", endpoint)
	}
	p := &Proxy{p: toxiproxy.NewProxy(s.api, name, "127.0.0.1:0", u.Host), names: map[string]bool{}}
	if opts != nil && opts.ResetOnClose {
		if err := p.add(Toxic{Name: rstName, Type: "reset_peer", Stream: Upstream}, 0); err != nil {
			return nil, err
		}
	}
	if err := p.p.Start(); err != nil {
		return nil, fmt.Errorf("toxics: start proxy %s: %w", name, err)
	}
	p.url = "http://" + p.p.Listen
	return p, nil
}

// URL returns the proxy's endpoint, http://127.0.0.1:PORT.
func (p *Proxy) URL() string { return p.url }

// Toxic describes a toxiproxy toxic.
type Toxic struct {
	// Name identifies the toxic on its proxy; Add makes one up if empty.
	Name string
	// Type is a toxiproxy toxic type: "latency", "timeout", "reset_peer",
	// "limit_data", "bandwidth", "slicer", "slow_close" or "docblob_cut".
	Type string
	// Stream is Upstream or Downstream.
	Stream string
	// Attributes are the toxic's attributes, as in toxiproxy's HTTP API.
	Attributes map[string]any
}

// Latency delays data by latency ± jitter.
func Latency(stream string, latency, jitter time.Duration) Toxic {
	return Toxic{Type: "latency", Stream: stream, Attributes: map[string]any{
		"latency": latency.Milliseconds(), "jitter": jitter.Milliseconds()}}
}

// Timeout drops all data, a black hole, and closes the connection after
// the timeout, or never if it is 0. Removing it closes the connections it
// held.
func Timeout(stream string, timeout time.Duration) Toxic {
	return Toxic{Type: "timeout", Stream: stream, Attributes: map[string]any{"timeout": timeout.Milliseconds()}}
}

// ResetPeer drops the first data each connection sends after the toxic is
// added, waits for timeout, and closes the connection (with a TCP reset if
// the connection was opened while a reset_peer toxic was installed).
func ResetPeer(stream string, timeout time.Duration) Toxic {
	return Toxic{Type: "reset_peer", Stream: stream, Attributes: map[string]any{"timeout": timeout.Milliseconds()}}
}

// Bandwidth limits each connection to rate kilobytes (1,000 bytes) a
// second in the stream's direction.
func Bandwidth(stream string, rate int64) Toxic {
	return Toxic{Type: "bandwidth", Stream: stream, Attributes: map[string]any{"rate": rate}}
}

// LimitData closes each connection once n bytes have passed in the
// stream's direction since the toxic was added. With n = 0 on Downstream,
// every request reaches the server and every response is lost.
func LimitData(stream string, n int64) Toxic {
	return Toxic{Type: "limit_data", Stream: stream, Attributes: map[string]any{"bytes": n}}
}

// CutAfter is a Cut toxic: the first `connections` connections to carry
// more than afterBytes in the stream's direction are closed at that point;
// all others pass. CutAfter(Downstream, 0, 1) loses exactly one response.
func CutAfter(stream string, afterBytes, connections int64) Toxic {
	return Toxic{Type: cutType, Stream: stream, Attributes: map[string]any{
		"after_bytes": afterBytes, "connections": connections}}
}

// Add installs t on every connection of the proxy, open or future, and
// returns its name.
func (p *Proxy) Add(t Toxic) (string, error) {
	if t.Name == "" {
		t.Name = fmt.Sprintf("%s-%s-%d", t.Type, t.Stream, p.seq.Add(1))
	}
	if t.Name == rstName {
		return "", fmt.Errorf("toxics: toxic name %q is reserved", t.Name)
	}
	return t.Name, p.add(t, 1)
}

func (p *Proxy) add(t Toxic, toxicity float32) error {
	attrs := t.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	b, err := json.Marshal(map[string]any{
		"name": t.Name, "type": t.Type, "stream": t.Stream, "toxicity": toxicity, "attributes": attrs,
	})
	if err != nil {
		return err
	}
	if _, err := p.p.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("toxics: add %s toxic %q: %w", t.Type, t.Name, err)
	}
	if t.Name != rstName {
		p.mu.Lock()
		p.names[t.Name] = true
		p.mu.Unlock()
	}
	return nil
}

// Remove uninstalls the named toxic. Removing a latency toxic delivers the
// data it held at once; removing a timeout toxic closes the connections it
// held.
func (p *Proxy) Remove(name string) error {
	p.mu.Lock()
	delete(p.names, name)
	p.mu.Unlock()
	if err := p.p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		return fmt.Errorf("toxics: remove toxic %q: %w", name, err)
	}
	return nil
}

// RemoveAll uninstalls every toxic added with Add.
func (p *Proxy) RemoveAll() error {
	p.mu.Lock()
	var names []string
	for n := range p.names {
		names = append(names, n)
	}
	p.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := p.Remove(n); err != nil && !errors.Is(err, toxiproxy.ErrToxicNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Cuts returns how many connections the named Cut toxic has cut so far,
// or -1 if it is not a Cut toxic installed on p.
func (p *Proxy) Cuts(name string) int64 {
	w := p.p.Toxics.GetToxic(name)
	if w == nil {
		return -1
	}
	c, ok := w.Toxic.(*Cut)
	if !ok {
		return -1
	}
	return c.cut.Load()
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() {
	p.p.Stop()
}

// Cut is the "docblob_cut" toxic. Counting from when it was added, the
// first Connections connections whose data in the toxic's direction goes
// past AfterBytes get AfterBytes through and are then closed; the data
// past the cut is dropped. Every other connection passes untouched. On
// Downstream with AfterBytes 0 and Connections 1 it loses exactly one
// response, of a request the server has handled: the client's retry, or
// the read-back after an ambiguous failure, then goes through. toxiproxy's
// own limit_data cuts every connection, and its toxicity is drawn once per
// connection rather than per request, so neither can do this.
type Cut struct {
	AfterBytes  int64 `json:"after_bytes"`
	Connections int64 `json:"connections"`

	claimed atomic.Int64 // connections chosen to be cut
	cut     atomic.Int64 // connections cut
}

type cutState struct {
	seen int64 // bytes passed on this connection
	pass bool  // this connection is past the limit but was not chosen
}

// NewState implements toxics.StatefulToxic: the count is per connection.
func (t *Cut) NewState() any { return new(cutState) }

// Pipe implements toxics.Toxic.
func (t *Cut) Pipe(stub *tx.ToxicStub) {
	st := stub.State.(*cutState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if !st.pass && st.seen+int64(len(c.Data)) > t.AfterBytes {
				if t.claimed.Add(1) <= t.Connections {
					if keep := t.AfterBytes - st.seen; keep > 0 {
						stub.Output <- &stream.StreamChunk{Data: c.Data[:keep], Timestamp: c.Timestamp}
					}
					t.cut.Add(1)
					stub.Close()
					return
				}
				st.pass = true
			}
			st.seen += int64(len(c.Data))
			stub.Output <- c
		}
	}
}
