package dashboards

import (
	"bytes"
	"crypto/hmac"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

type loginView struct {
	tr
	CSRF, Next, Error, User, LangURL, V string
}

// loginPage shows the sign-in form. Before a session exists the CSRF token is a
// double-submit cookie: the form's hidden field must match it.
func (p *pages) loginPage(c echo.Context) error {
	return p.showLogin(c, http.StatusOK, "", "")
}

func (p *pages) showLogin(c echo.Context, code int, errKey, user string) error {
	t := tr{pickLang(c, "")}
	tok := ""
	if ck, err := c.Cookie(loginCSRF); err == nil && len(ck.Value) >= 20 {
		tok = ck.Value
	} else {
		tok = randomToken()
		c.SetCookie(&http.Cookie{Name: loginCSRF, Value: tok, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(c), MaxAge: 3600})
	}
	next := safeNext(c.QueryParam("next"))
	if c.Request().Method == http.MethodPost {
		next = safeNext(c.FormValue("next"))
	}
	other := "zh-CN"
	if t.lang == "zh-CN" {
		other = "en"
	}
	lv := loginView{tr: t, CSRF: tok, Next: next, User: user, V: p.version, LangURL: "/login?lang=" + other + "&next=" + url.QueryEscape(next)}
	if errKey != "" {
		lv.Error = t.T(errKey)
	}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "login.html", lv); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(code, buf.Bytes())
}

func (p *pages) loginSubmit(c echo.Context) error {
	ck, err := c.Cookie(loginCSRF)
	if err != nil || ck.Value == "" || !hmac.Equal([]byte(ck.Value), []byte(c.FormValue("csrf"))) {
		return p.showLogin(c, http.StatusForbidden, "login.csrf", "")
	}
	user := strings.TrimSpace(c.FormValue("username"))
	ip := p.s.auth.clientIP(c)
	keys := limitKeys(ip, user)
	if !p.s.auth.limiter.allow(time.Now(), keys) {
		p.s.log.Warn("sign-in rate limited", "ip", ip, "user", user)
		return p.showLogin(c, http.StatusTooManyRequests, "login.limited", user)
	}
	u, ok := p.s.auth.login(user, c.FormValue("password"))
	if !ok {
		p.s.auth.limiter.fail(time.Now(), keys)
		p.s.log.Info("sign-in failed", "ip", ip, "user", user)
		return p.showLogin(c, http.StatusUnauthorized, "login.failed", user)
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: p.s.auth.encode(u), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isHTTPS(c), Expires: time.Unix(u.Expires, 0)})
	c.SetCookie(&http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1})
	p.s.log.Info("signed in", "user", u.Username, "role", u.Role)
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}

// logout ends the session everywhere: the cookie is cleared, and its id is
// revoked, so a copy of the cookie taken before is refused too.
func (p *pages) logout(c echo.Context) error {
	if !p.s.auth.writeOK(c, "") {
		return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(c)})
	if u, ok := userOf(c); ok && c.Get(viaKey) == "session" {
		if err := p.s.auth.signOut(c.Request().Context(), u); err != nil {
			// This process refuses the session already; the others would not.
			return echo.NewHTTPError(http.StatusServiceUnavailable, "signed out here, but the database does not answer, so other servers may still accept this session; retry in a moment").WithInternal(err)
		}
		p.s.log.Info("signed out", "user", u.Username)
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps redirects on this server: a local path, never //host, a
// scheme, a backslash or a control character (browsers drop tabs and newlines,
// so /\t/evil.example is //evil.example to them), also once percent-decoded.
func safeNext(s string) string {
	if !localPath(s) {
		return "/"
	}
	return s
}

func localPath(s string) bool {
	for range 3 {
		if s == "" || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsRune(s, '\\') {
			return false
		}
		for _, r := range s {
			if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
				return false
			}
		}
		if u, err := url.Parse(s); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			return false
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if d == s {
			return true
		}
		s = d
	}
	return false // encoded more than twice: no page of ours needs that
}

// clientIP is the address a sign-in comes from: the peer, or behind trusted
// proxies the nearest address in X-Forwarded-For that is not one of them.
func (a *authenticator) clientIP(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		host = c.Request().RemoteAddr
	}
	if !a.fromProxy(c) || len(a.proxies) == 0 {
		return host
	}
	hops := strings.Split(strings.Join(c.Request().Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(hops[i]))
		if ip == nil {
			break
		}
		if !a.trusted(ip) {
			return ip.String()
		}
	}
	return host
}
