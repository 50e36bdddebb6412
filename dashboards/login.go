package dashboards

import (
	"bytes"
	"crypto/hmac"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	ip := clientIP(c)
	if !p.s.auth.limiter.allow(time.Now(), "ip:"+ip, "user:"+strings.ToLower(user)) {
		p.s.log.Warn("sign-in rate limited", "ip", ip, "user", user)
		return p.showLogin(c, http.StatusTooManyRequests, "login.limited", user)
	}
	u, ok := p.s.auth.login(ip, user, c.FormValue("password"))
	if !ok {
		p.s.log.Info("sign-in failed", "ip", ip, "user", user)
		return p.showLogin(c, http.StatusUnauthorized, "login.failed", user)
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: p.s.auth.encode(u), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isHTTPS(c), Expires: time.Unix(u.Expires, 0)})
	c.SetCookie(&http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1})
	p.s.log.Info("signed in", "user", u.Username, "role", u.Role)
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}

func (p *pages) logout(c echo.Context) error {
	if c.Get(viaKey) == "session" && !p.s.auth.csrfOK(c) {
		return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(c)})
	return c.Redirect(http.StatusSeeOther, "/login")
}

// safeNext keeps redirects on this server: a path, never //host or a scheme.
func safeNext(s string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

// clientIP is the peer address; X-Forwarded-For only counts from a trusted proxy.
func clientIP(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		host = c.Request().RemoteAddr
	}
	return host
}
