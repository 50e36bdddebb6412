package dashboards

import (
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
	viaKey        = "pipelens.via" // "bearer", "session" or "header"
	sessionCookie = "pl_session"
	loginCSRF     = "pl_login_csrf"
	sessionTTL    = 12 * time.Hour
	// Login attempts allowed per IP and per username in loginWindow.
	loginLimit  = 5
	loginWindow = time.Minute
)

type authenticator struct {
	tokens  []config.Token
	users   map[string]config.User
	secret  []byte
	header  string
	proxies []*net.IPNet
	limiter *limiter
	log     *slog.Logger
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
	au.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.MinCost)
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
	// ID is random per sign-in; the CSRF token is derived from it.
	ID      string `json:"i"`
	Expires int64  `json:"e"`
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

func (a *authenticator) decode(v string) (sessionUser, bool) {
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
	if cu, ok := a.users[u.Username]; !ok || cu.Role != u.Role || cu.Team != u.Team || cu.Rep != u.Rep {
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
func (a *authenticator) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h := c.Request().Header.Get("Authorization"); h != "" {
			if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
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
			if u, ok := a.decode(ck.Value); ok {
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
		if c.Get(viaKey) == "session" && !safeMethod(c.Request().Method) && !isMultipart(c) && !a.csrfOK(c) {
			// Multipart uploads are streamed: their handler checks the csrf field.
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
		}
		return next(c)
	}
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

// login checks a username and password; the limiter says no before bcrypt runs.
func (a *authenticator) login(ip, username, password string) (sessionUser, bool) {
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
		ID: hex.EncodeToString(id), Expires: time.Now().Add(sessionTTL).Unix()}, true
}

// limiter counts sign-in attempts per key in a sliding window.
type limiter struct {
	mu   sync.Mutex
	hits map[string][]time.Time
}

func newLimiter() *limiter { return &limiter{hits: map[string][]time.Time{}} }

// allow records an attempt for every key and says whether all are within the limit.
func (l *limiter) allow(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 10000 {
		for k, ts := range l.hits {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > loginWindow {
				delete(l.hits, k)
			}
		}
	}
	ok := true
	for _, k := range keys {
		ts := l.hits[k]
		i := 0
		for i < len(ts) && now.Sub(ts[i]) > loginWindow {
			i++
		}
		ts = append(ts[i:], now)
		l.hits[k] = ts
		if len(ts) > loginLimit {
			ok = false
		}
	}
	return ok
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
