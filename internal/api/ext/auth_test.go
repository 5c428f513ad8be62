package ext_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/testenv"
)

type pair struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
}

func TestLogin(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		login := func(user, pass string, basic bool) *testenv.Response {
			req, _ := http.NewRequest("POST", env.URL()+ext.Prefix+"/auth", nil)
			if basic {
				req.SetBasicAuth(user, pass)
			}
			res, err := env.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body json.RawMessage
			_ = json.NewDecoder(res.Body).Decode(&body)
			return &testenv.Response{Status: res.StatusCode, Header: res.Header, Body: body}
		}
		var p pair
		login(ten.Login, ten.Password, true).JSON(t, &p)
		if p.Token == "" || p.RefreshToken == "" || p.Token == p.RefreshToken {
			t.Fatalf("login pair: %+v", p)
		}
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents", p.Token, nil), 200)
		mustStatus(t, login(ten.Login, "wrong password", true), 422)
		mustStatus(t, login("nobody", ten.Password, true), 422)
		mustStatus(t, login("", "", false), 401)
		// Logins no user can have are wrong credentials, on both engines.
		mustStatus(t, login("nul\x00login", ten.Password, true), 422)
		mustStatus(t, login("bad\xffutf8", ten.Password, true), 422)

		// An operator can log in but has no External API rights.
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents", ten.OperatorToken, nil), 403)
	})
}

func TestBearerRejectsBadTokens(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		ctx := context.Background()
		caller := callerOf(t, ten.Token)

		// A second token service on the same database shares the persisted
		// key; with its clock in the past it mints tokens that are expired.
		past, err := auth.NewTokenService(ctx, env.DB)
		if err != nil {
			t.Fatal(err)
		}
		past.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
		expired, err := past.Login(ctx, caller)
		if err != nil {
			t.Fatal(err)
		}

		claims := jwtClaims(t, ten.Token)
		none := unsigned(t, claims)
		wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("not the server's key, 32 bytes!!"))
		hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString([]byte("not the server's key, 32 bytes!!"))
		tampered := tamper(t, ten.Token, func(c jwt.MapClaims) { c["cid"] = 999.0 })

		url := ext.Prefix + "/agent-settings/general?agent_uuid=" + ten.AgentUUID
		for name, header := range map[string]string{
			"no header":             "",
			"empty bearer":          "Bearer ",
			"basic scheme":          "Basic " + base64.StdEncoding.EncodeToString([]byte(ten.Login+":"+ten.Password)),
			"garbage":               "Bearer not.a.jwt",
			"alg none":              "Bearer " + none,
			"wrong key":             "Bearer " + wrongKey,
			"HS512 wrong key":       "Bearer " + hs512,
			"tampered payload":      "Bearer " + tampered,
			"expired":               "Bearer " + expired.Token,
			"refresh as access":     "Bearer " + ten.RefreshToken,
			"token with extra junk": "Bearer " + ten.Token + "x",
		} {
			req, _ := http.NewRequest("GET", env.URL()+url, nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			res, err := env.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode != 401 || body.Code != parley.EUNAUTHORIZED || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: status %d code %q, want 401 with WWW-Authenticate", name, res.StatusCode, body.Code)
			}
		}
		mustStatus(t, env.Do(t, "GET", url, ten.Token, nil), 200)

		// An expired refresh token is refused too.
		past.Now = func() time.Time { return time.Now().Add(-25 * time.Hour) }
		old, err := past.Login(ctx, caller)
		if err != nil {
			t.Fatal(err)
		}
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/auth/refresh", "", map[string]any{"refresh_token": old.RefreshToken}), 401)
	})
}

func TestRefresh(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		ten := env.NewTenant(t, "Acme")
		refresh := func(tok string) *testenv.Response {
			return env.Do(t, "POST", ext.Prefix+"/auth/refresh", "", map[string]any{"refresh_token": tok})
		}

		var p1 pair
		mustStatus(t, refresh(ten.RefreshToken), 200).JSON(t, &p1)
		mustStatus(t, env.Do(t, "GET", ext.Prefix+"/company-agents", p1.Token, nil), 200)
		mustStatus(t, refresh(p1.Token), 401)  // an access token is not a refresh token
		mustStatus(t, refresh("garbage"), 401) // not a token at all
		mustStatus(t, refresh(""), 409)        // missing field
		mustStatus(t, env.Do(t, "POST", ext.Prefix+"/auth/refresh", "", `{"refresh_token": 5}`), 409)

		// Reusing a spent refresh token revokes the whole family: the
		// legitimate holder's newer token stops working as well.
		mustStatus(t, refresh(ten.RefreshToken), 401)
		mustStatus(t, refresh(p1.RefreshToken), 401)

		// Another login starts a fresh family that is unaffected.
		_, rt := env.Login(t, ten.Login, ten.Password)
		var p2 pair
		mustStatus(t, refresh(rt), 200).JSON(t, &p2)

		// Of concurrent refreshes with one token, exactly one wins.
		const n = 10
		var wg sync.WaitGroup
		statuses := make(chan int, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", env.URL()+ext.Prefix+"/auth/refresh", strings.NewReader(`{"refresh_token":"`+p2.RefreshToken+`"}`))
				res, err := env.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				statuses <- res.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		wins := 0
		for s := range statuses {
			switch s {
			case 200:
				wins++
			case 401:
			default:
				t.Errorf("concurrent refresh: status %d", s)
			}
		}
		if wins != 1 {
			t.Errorf("concurrent refreshes with one token: %d succeeded, want exactly 1", wins)
		}
	})
}

// callerOf reads the caller out of a token's claims (without verifying it;
// the server did that when it issued it).
func callerOf(t *testing.T, token string) parley.Caller {
	c := jwtClaims(t, token)
	return parley.Caller{UserID: int64(c["uid"].(float64)), UserUUID: c["sub"].(string), CompanyID: int64(c["cid"].(float64)),
		CompanyUUID: c["cuid"].(string), Role: c["role"].(string)}
}

func jwtClaims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// unsigned builds an "alg: none" token with the given claims.
func unsigned(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tamper changes a token's payload but keeps its original signature.
func tamper(t *testing.T, token string, edit func(jwt.MapClaims)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	c := jwtClaims(t, token)
	edit(c)
	payload, _ := json.Marshal(c)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}
