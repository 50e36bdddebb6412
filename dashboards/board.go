package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// The office board (电子看板): /board/{contest} is a full-screen page for a TV,
// opened with the contest's board token (?token=) and no sign-in; it follows
// /board/{contest}/events, a server-sent event stream that pushes the ranking
// again whenever a load is published. The token opens these two and nothing
// else: it is not a bearer token, so the API and the pages do not know it.

const (
	// boardPoll is how often a stream looks at the latest publication (one
	// cheap lookup shared by every request: versions.get).
	boardPoll = time.Second
	// boardRefresh re-sends the ranking even without a publication: a changed
	// contest, a new day.
	boardRefresh = 30 * time.Second
	// boardStream is how long one stream lasts: requests end at 60 s
	// (middleware.ContextTimeout); the browser reconnects after retry ms and
	// gets the ranking at once.
	boardStream = 45 * time.Second
	// boardTop: the board shows the ranks up to this one per group (all who
	// tie at it), so that it stays readable from across a room.
	boardTop = 10
	// boardBeat: a comment line this often keeps proxies from closing the stream.
	boardBeat = 15 * time.Second
)

func (p *pages) boardRoutes(s *Server) {
	s.Echo.GET("/board/:contest", p.board)
	s.Echo.GET("/board/:contest/events", p.boardEvents)
}

// boardScope says who reads the board: the board token of this contest (the
// office screen sees every row), else a signed-in user (the own scope). With
// neither, a browser is sent to sign in; a wrong token is refused.
func (p *pages) boardScope(c echo.Context) (query.Scope, tr, error) {
	u, _ := userOf(c)
	t := tr{pickLang(c, u.Lang)}
	id := c.Param("contest")
	if tok := c.QueryParam("token"); tok != "" {
		ok, err := p.svc.BoardTokenOK(c.Request().Context(), id, tok)
		if err != nil && !errors.Is(err, query.ErrNotFound) {
			return query.Scope{}, t, err
		}
		if !ok {
			// The same answer for an unknown contest: a token says nothing about others.
			return query.Scope{}, t, echo.NewHTTPError(http.StatusForbidden, sentence(t.T("ct.board_token")))
		}
		return query.Scope{Name: "board " + id, Role: query.RoleDirector}, t, nil
	}
	if sc, ok := ScopeOf(c); ok && sc.Role != "" {
		return sc, t, nil
	}
	return query.Scope{}, t, errSignIn
}

var errSignIn = errors.New("sign in")

// boardView is what the board shows, formatted on the server so the page and
// the stream say the same in the reader's language.
type boardView struct {
	Title      string          `json:"title"`
	Sub        string          `json:"sub"`
	Pub        uint64          `json:"pub"`
	Updated    string          `json:"updated"`
	Live       string          `json:"live"`
	Offline    string          `json:"offline"`
	Categories []boardCategory `json:"categories"`
}

type boardCategory struct {
	Title  string       `json:"title"`
	Groups []boardGroup `json:"groups"`
}

type boardGroup struct {
	Name string     `json:"name"`
	Rows []boardRow `json:"rows"`
}

type boardRow struct {
	Rank  int    `json:"rank"`
	Name  string `json:"name"`
	Team  string `json:"team"`
	Value string `json:"value"`
	Extra string `json:"extra,omitempty"`
}

// boardRanking computes the board as of the latest publication.
func (p *pages) boardRanking(ctx context.Context, sc query.Scope, t tr, id string) (boardView, error) {
	if p.s.opts.DB != nil {
		v, err := p.s.versions.get(ctx, p.s.opts.DB)
		if err != nil {
			return boardView{}, err
		}
		ctx = query.AsOf(ctx, v)
	}
	ct, err := p.svc.Contest(ctx, sc, id)
	if err != nil {
		return boardView{}, err
	}
	key := cacheKey(sc, "contest", query.Filter{}, id, ct.UpdatedAt.String())
	rk, err := cached(ctx, p.s, key, "contest", func(ctx context.Context) (query.ContestRanking, error) {
		return p.svc.Ranking(ctx, sc, id)
	})
	if err != nil {
		return boardView{}, err
	}
	return boardOf(t, rk, time.Now().In(p.svc.Location())), nil
}

func boardOf(t tr, rk query.ContestRanking, now time.Time) boardView {
	ct := rk.Contest
	r := &request{tr: t}
	v := boardView{Title: ct.Name, Sub: metricName(r, ct.Metric) + " · " + ct.From + " – " + ct.To, Pub: rk.Publication,
		Updated: t.T("ct.updated") + " " + now.Format("15:04:05"), Live: t.T("ct.live"), Offline: t.T("ct.offline"), Categories: []boardCategory{}}
	for _, cr := range rk.Categories {
		title := t.T("ct.cat." + cr.Category)
		if cr.Category != query.CategoryNewAccounts {
			title += " · " + metricName(r, cr.Metric)
		}
		bc := boardCategory{Title: title, Groups: []boardGroup{}}
		for _, g := range cr.Groups {
			bg := boardGroup{Name: groupName(t, g.Name), Rows: []boardRow{}}
			for _, x := range g.Rows {
				if x.Rank > boardTop {
					// A screen holds the leaders; the contest page lists everyone.
					break
				}
				row := boardRow{Rank: x.Rank, Name: x.Name, Team: x.Team, Value: metricCell(r, cr.Metric, x.Value).Text}
				if x.Current != nil {
					row.Value = signed(metricCell(r, cr.Metric, x.Value).Text, x.Value)
					row.Extra = metricCell(r, cr.Metric, *x.Baseline).Text + " → " + metricCell(r, cr.Metric, *x.Current).Text
				}
				bg.Rows = append(bg.Rows, row)
			}
			bc.Groups = append(bc.Groups, bg)
		}
		v.Categories = append(v.Categories, bc)
	}
	return v
}

func signed(s string, v float64) string {
	if v > 0 {
		return "+" + s
	}
	return s
}

// board renders the full-screen page with the ranking of now; board.js then
// follows the stream.
func (p *pages) board(c echo.Context) error {
	sc, t, err := p.boardScope(c)
	if errors.Is(err, errSignIn) {
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	if err != nil {
		return err
	}
	id := c.Param("contest")
	bv, err := p.boardRanking(c.Request().Context(), sc, t, id)
	if err != nil {
		return apiError(err)
	}
	events := "/board/" + url.PathEscape(id) + "/events"
	if tok := c.QueryParam("token"); tok != "" {
		events += "?token=" + url.QueryEscape(tok)
	}
	if l := c.QueryParam("lang"); l != "" {
		events += map[bool]string{true: "&", false: "?"}[c.QueryParam("token") != ""] + "lang=" + url.QueryEscape(l)
	}
	data := struct {
		tr
		V, Events string
		Board     boardView
		Data      template.JS
	}{t, p.version, events, bv, safeJSON(bv)}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "board.html", data); err != nil {
		return fmt.Errorf("render board: %w", err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// The token is in this page's URL: no referrer may carry it away.
	h.Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// boardEvents streams the board: the ranking at once, then again after every
// publication (and every boardRefresh), with a comment as heartbeat.
func (p *pages) boardEvents(c echo.Context) error {
	sc, t, err := p.boardScope(c)
	if errors.Is(err, errSignIn) {
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in or open the board link with its token")
	}
	if err != nil {
		return err
	}
	id := c.Param("contest")
	ctx := c.Request().Context()
	// The first ranking before the headers: an error is still an HTTP status.
	bv, err := p.boardRanking(ctx, sc, t, id)
	if err != nil {
		return apiError(err)
	}
	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return nil
	}
	return p.streamBoard(ctx, w, sc, t, id, bv)
}

func (p *pages) streamBoard(ctx context.Context, w *echo.Response, sc query.Scope, t tr, id string, bv boardView) error {
	if sendBoard(w, bv) != nil {
		return nil
	}
	last, sent, beat := bv.Pub, time.Now(), time.Now()
	end := time.NewTimer(boardStream)
	defer end.Stop()
	// A stopping server ends the streams at once instead of waiting for them.
	stop := p.s.background().Done()
	tick := time.NewTicker(boardPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		case <-stop:
			return nil
		case <-tick.C:
		}
		if pub, ok := p.latestPub(ctx, last); ok && pub == last && time.Since(sent) < boardRefresh {
			if time.Since(beat) >= boardBeat {
				// A comment keeps proxies from closing an idle stream.
				if _, err := fmt.Fprint(w, ": "+strconv.FormatInt(time.Now().Unix(), 10)+"\n\n"); err != nil {
					return nil
				}
				w.Flush()
				beat = time.Now()
			}
			continue
		} else if !ok {
			continue
		}
		nv, err := p.boardRanking(ctx, sc, t, id)
		if err != nil {
			p.s.log.Warn("board ranking", "contest", id, "err", err)
			continue
		}
		if sendBoard(w, nv) != nil {
			return nil
		}
		last, sent = nv.Pub, time.Now()
	}
}

// latestPub is the latest publication (one lookup shared by all requests), or
// last without a database; false when the lookup failed.
func (p *pages) latestPub(ctx context.Context, last uint64) (uint64, bool) {
	if p.s.opts.DB == nil {
		return last, true
	}
	v, err := p.s.versions.get(ctx, p.s.opts.DB)
	return v.Pub, err == nil
}

// sendBoard writes one ranking event.
func sendBoard(w *echo.Response, v boardView) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: ranking\nid: %d\ndata: %s\n\n", v.Pub, b)
	w.Flush()
	return err
}
