package dashboards

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
)

const (
	scopeKey      = "pipelens.scope"
	userKey       = "pipelens.user"
	viaKey        = "pipelens.via" // "bearer", "session", "header" or "metrics"
	sessionCookie = "pl_session"
	loginCSRF     = "pl_login_csrf"
	sessionTTL    = 12 * time.Hour
	// Failed sign-ins allowed in loginWindow per (username, IP), so nobody can
	// lock a colleague out from elsewhere, and per IP, higher, so that
	// colleagues behind one NAT do not lock each other out. Successes do not count.
	loginLimitUser = 5
	loginLimitIP   = 30
	loginWindow    = time.Minute
)

type authenticator struct {
	tokens  []config.Token
	users   map[string]config.User
	secret  []byte
	header  string
	proxies []*net.IPNet
	limiter *limiter
	revoked *revocations
	log     *slog.Logger
	// metricsToken, when set, lets a scraper read /metrics (server.metrics_token).
	metricsToken string
	// dummy is a bcrypt hash compared against for unknown users, so a wrong
	// username costs as long as a wrong password.
	dummy []byte
}

func newAuthenticator(a config.Auth, log *slog.Logger) *authenticator {
	if log == nil {
		log = slog.Default()
	}
	au := &authenticator{tokens: a.Tokens, users: map[string]config.User{}, header: a.TrustedHeader, limiter: newLimiter(), log: log}
	for _, u := range a.Users {
		au.users[u.Username] = u
	}
	if a.SessionSecret != "" {
		au.secret = []byte(a.SessionSecret)
	} else {
		au.secret = make([]byte, 32)
		_, _ = rand.Read(au.secret)
		if len(a.Users) > 0 {
			log.Warn("auth.session_secret is empty: using a random one, so sign-ins will not survive a restart")
		}
	}
	for _, p := range a.TrustedProxies {
		if !strings.Contains(p, "/") {
			if strings.Contains(p, ":") {
				p += "/128"
			} else {
				p += "/32"
			}
		}
		if _, n, err := net.ParseCIDR(p); err == nil {
			au.proxies = append(au.proxies, n)
		} else {
			log.Warn("auth.trusted_proxies: not an address or CIDR", "value", p)
		}
	}
	// The dummy costs what the users' hashes cost: a cheaper one told unknown
	// names (2 ms) from known ones (78 ms).
	cost := bcrypt.MinCost
	for _, u := range a.Users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && c > cost {
			cost = c
		}
	}
	au.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password"), cost)
	return au
}

// sessionUser is who is signed in, as the pages need it.
type sessionUser struct {
	Username string `json:"u"`
	Name     string `json:"n"`
	Role     string `json:"r"`
	Team     string `json:"t,omitempty"`
	Rep      string `json:"p,omitempty"`
	Lang     string `json:"l,omitempty"`
	// ID is random per sign-in; the CSRF token is derived from it, and signing
	// out revokes it.
	ID      string `json:"i"`
	Expires int64  `json:"e"`
	// Password is a fingerprint of the user's password hash at sign-in: a
	// changed password ends the sessions signed in with the old one.
	Password string `json:"w,omitempty"`
}

func (u sessionUser) scope() query.Scope {
	return query.Scope{Name: u.Username, Role: u.Role, Team: u.Team, Rep: u.Rep}
}

func (a *authenticator) sign(b []byte) string {
	m := hmac.New(sha256.New, a.secret)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// encode makes the session cookie value: payload.signature.
func (a *authenticator) encode(u sessionUser) string {
	b, _ := json.Marshal(u)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + a.sign([]byte(p))
}

// passwordPrint fingerprints a password hash without revealing it.
func (a *authenticator) passwordPrint(hash string) string {
	return a.sign([]byte("password|" + hash))[:16]
}

func (a *authenticator) decode(ctx context.Context, v string) (sessionUser, bool) {
	var u sessionUser
	p, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(a.sign([]byte(p)))) {
		return u, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(b, &u) != nil {
		return u, false
	}
	if time.Now().Unix() > u.Expires {
		return u, false
	}
	// A user removed from the config loses access at once.
	cu, ok := a.users[u.Username]
	if !ok || cu.Role != u.Role || cu.Team != u.Team || cu.Rep != u.Rep {
		return u, false
	}
	if !hmac.Equal([]byte(u.Password), []byte(a.passwordPrint(string(cu.PasswordHash)))) {
		return u, false
	}
	if a.revoked != nil && a.revoked.revoked(ctx, u.ID) {
		return u, false
	}
	return u, true
}

// csrfFor is the synchronizer token of a session: bound to its random id.
func (a *authenticator) csrfFor(u sessionUser) string {
	return a.sign([]byte("csrf|" + u.ID))
}

func isHTTPS(c echo.Context) bool {
	r := c.Request()
	// A spoofed header only makes the browser withhold the cookie on plain HTTP.
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// identify runs on every request: it puts the caller (bearer token, trusted proxy
// header, or session cookie) on the context. It never rejects; routes decide.
// Health checks ignore credentials: a probe that sends a stale token is still a probe.
func (a *authenticator) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Path(); p == "/healthz" || p == "/readyz" {
			return next(c)
		}
		if h := c.Request().Header.Get("Authorization"); h != "" {
			if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
				if a.metricsToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.metricsToken)) == 1 {
					// A scraper: /metrics only, no scope for the API or pages.
					c.Set(viaKey, "metrics")
					return next(c)
				}
				for _, t := range a.tokens {
					if subtle.ConstantTimeCompare([]byte(tok), []byte(t.Token)) == 1 {
						c.Set(scopeKey, query.Scope{Name: t.Name, Role: t.Role, Team: t.Team, Rep: t.Rep})
						c.Set(viaKey, "bearer")
						return next(c)
					}
				}
				return echo.NewHTTPError(http.StatusUnauthorized, "unknown bearer token")
			}
		}
		if a.header != "" && a.fromProxy(c) {
			if name := strings.TrimSpace(c.Request().Header.Get(a.header)); name != "" {
				if cu, ok := a.users[name]; ok {
					u := sessionUser{Username: cu.Username, Name: cu.Name, Role: cu.Role, Team: cu.Team, Rep: cu.Rep, Lang: cu.Lang, ID: "hdr:" + cu.Username}
					c.Set(userKey, u)
					c.Set(scopeKey, u.scope())
					c.Set(viaKey, "header")
					return next(c)
				}
			}
		}
		if ck, err := c.Cookie(sessionCookie); err == nil {
			if u, ok := a.decode(c.Request().Context(), ck.Value); ok {
				c.Set(userKey, u)
				c.Set(scopeKey, u.scope())
				c.Set(viaKey, "session")
			}
		}
		return next(c)
	}
}

// fromProxy says whether the direct peer is a trusted proxy (loopback when none
// are configured), so that the trusted header cannot be sent by anyone else.
func (a *authenticator) fromProxy(c echo.Context) bool {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		host = c.Request().RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if len(a.proxies) == 0 {
		return ip.IsLoopback()
	}
	return a.trusted(ip)
}

// trusted says whether ip is one of the configured proxies.
func (a *authenticator) trusted(ip net.IP) bool {
	for _, n := range a.proxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// middleware guards /api/v1: a bearer token or a signed-in user is required, and
// a state-changing request from a browser session must carry its CSRF token.
func (a *authenticator) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s, ok := c.Get(scopeKey).(query.Scope)
		if !ok || s.Role == "" {
			return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
		}
		if !safeMethod(c.Request().Method) && !isMultipart(c) && !a.writeOK(c, "") {
			// Multipart uploads are streamed: their handler checks the csrf field.
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
		}
		return next(c)
	}
}

// writeOK says whether a state-changing request may go on: a bearer token is
// not sent by browsers on their own, so it needs nothing more; a browser
// (session cookie, or a user named by the trusted proxy, which a cross-site
// form would carry just as well) must send the CSRF token (header X-CSRF-Token,
// form field csrf, or tok, a streamed field). A proxied user may instead come
// from a same-origin page (Sec-Fetch-Site or Origin).
func (a *authenticator) writeOK(c echo.Context, tok string) bool {
	switch c.Get(viaKey) {
	case "session":
	case "header":
		if a.sameOrigin(c) {
			return true
		}
	default:
		return true // bearer tokens; anonymous callers are refused by the routes
	}
	if tok == "" && !isMultipart(c) {
		return a.csrfOK(c)
	}
	return a.csrfTokenOK(c, tok)
}

// sameOrigin says whether the browser says the request comes from our own pages.
func (a *authenticator) sameOrigin(c echo.Context) bool {
	r := c.Request()
	if r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	fh := r.Header.Get("X-Forwarded-Host")
	return fh != "" && a.fromProxy(c) && strings.EqualFold(u.Host, fh)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfOK checks the form field csrf or the X-CSRF-Token header against the
// session's token.
func (a *authenticator) csrfOK(c echo.Context) bool {
	u, ok := c.Get(userKey).(sessionUser)
	if !ok {
		return false
	}
	got := c.Request().Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.FormValue("csrf")
	}
	return got != "" && hmac.Equal([]byte(got), []byte(a.csrfFor(u)))
}

// csrfTokenOK checks the X-CSRF-Token header, else tok (a streamed form field).
func (a *authenticator) csrfTokenOK(c echo.Context, tok string) bool {
	u, ok := c.Get(userKey).(sessionUser)
	if !ok {
		return false
	}
	if h := c.Request().Header.Get("X-CSRF-Token"); h != "" {
		tok = h
	}
	return tok != "" && hmac.Equal([]byte(tok), []byte(a.csrfFor(u)))
}

func isMultipart(c echo.Context) bool {
	return strings.HasPrefix(c.Request().Header.Get("Content-Type"), "multipart/form-data")
}

// login checks a username and password. An unknown username costs a bcrypt
// comparison as dear as a known one, so the time of the answer does not say
// which names exist.
func (a *authenticator) login(username, password string) (sessionUser, bool) {
	cu, ok := a.users[username]
	hash := a.dummy
	if ok {
		hash = []byte(cu.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return sessionUser{}, false
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return sessionUser{Username: cu.Username, Name: cu.Name, Role: cu.Role, Team: cu.Team, Rep: cu.Rep, Lang: cu.Lang,
		ID: hex.EncodeToString(id), Expires: time.Now().Add(sessionTTL).Unix(), Password: a.passwordPrint(string(cu.PasswordHash))}, true
}

// signOut ends u's session in every serve process.
func (a *authenticator) signOut(ctx context.Context, u sessionUser) error {
	return a.revoked.revoke(ctx, u.ID, u.Username, time.Unix(u.Expires, 0))
}

// limitKeys are the limiter's keys of a sign-in attempt, with their bounds.
func limitKeys(ip, username string) map[string]int {
	return map[string]int{"ip:" + ip: loginLimitIP, "user:" + strings.ToLower(username) + "|" + ip: loginLimitUser}
}

// limiter counts failed sign-ins per key in a sliding window.
type limiter struct {
	mu   sync.Mutex
	hits map[string][]time.Time
}

func newLimiter() *limiter { return &limiter{hits: map[string][]time.Time{}} }

// allow says whether every key is below its bound; it records nothing.
func (l *limiter) allow(now time.Time, keys map[string]int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, limit := range keys {
		if len(l.recent(now, k)) >= limit {
			return false
		}
	}
	return true
}

// fail records a failed attempt under every key.
func (l *limiter) fail(now time.Time, keys map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 10000 {
		for k, ts := range l.hits {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > loginWindow {
				delete(l.hits, k)
			}
		}
	}
	for k := range keys {
		l.hits[k] = append(l.recent(now, k), now)
	}
}

// recent drops k's attempts older than the window and returns the rest.
func (l *limiter) recent(now time.Time, k string) []time.Time {
	ts := l.hits[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > loginWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.hits, k)
		return nil
	}
	l.hits[k] = ts
	return ts
}

// ScopeOf is the authenticated caller's scope.
func ScopeOf(c echo.Context) (query.Scope, bool) {
	s, ok := c.Get(scopeKey).(query.Scope)
	return s, ok
}

func userOf(c echo.Context) (sessionUser, bool) {
	u, ok := c.Get(userKey).(sessionUser)
	return u, ok
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
