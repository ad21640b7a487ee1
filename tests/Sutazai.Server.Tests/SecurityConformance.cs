using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OtpNet;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>Authentication, authorization, sessions, keys, MFA, lockout and audit, through real HTTP, on every store.</summary>
public abstract class SecurityConformance<TStore>(ServerFixture<TStore> server) : IClassFixture<ServerFixture<TStore>>
    where TStore : ITestStore, new()
{
    private readonly TestApi _api = server.Api;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sign_in_issues_tokens_that_work_and_me_describes_the_caller()
    {
        var (user, client, tokens) = await _api.SignedInUserAsync("developer");

        var me = await client.GetFromJsonAsync<JsonElement>("/api/v1/auth/me", Cancellation);

        Assert.Equal(900, tokens.ExpiresIn);
        Assert.StartsWith("szr_", tokens.RefreshToken, StringComparison.Ordinal);
        Assert.Equal(user.Username, me.GetProperty("user").GetProperty("username").GetString());
        Assert.Equal(["developer"], me.GetProperty("user").GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Contains("task:create", me.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        Assert.DoesNotContain("user:create", me.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(tokens.SessionId, me.GetProperty("session_id").GetGuid());
    }

    [Fact]
    public async Task Refresh_rotates_and_a_reused_refresh_token_ends_the_whole_session()
    {
        var (_, _, first) = await _api.SignedInUserAsync("viewer");
        using var anonymous = _api.Anonymous();

        var second = await RefreshAsync(anonymous, first.RefreshToken);
        var third = await RefreshAsync(anonymous, second!.RefreshToken);
        var replay = await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = first.RefreshToken }, Cancellation);

        Assert.NotNull(third);
        Assert.Equal(first.SessionId, third.SessionId);
        await HttpConformance<TStore>.AssertProblemAsync(replay, HttpStatusCode.Unauthorized, "invalid-grant");
        // The leak ended the family: the newest refresh token and the session's access tokens are dead too.
        Assert.Null(await RefreshAsync(anonymous, third.RefreshToken));
        using var withLatest = _api.WithBearer(third.AccessToken);
        var refused = await withLatest.GetAsync("/api/v1/auth/me", Cancellation);
        var problem = await HttpConformance<TStore>.AssertProblemAsync(refused, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("session has ended", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_stops_both_the_access_and_the_refresh_token()
    {
        var (_, client, tokens) = await _api.SignedInUserAsync("viewer");

        var logout = await client.PostAsync("/api/v1/auth/logout", null, Cancellation);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);
        using var anonymous = _api.Anonymous();
        Assert.Null(await RefreshAsync(anonymous, tokens.RefreshToken));
    }

    [Fact]
    public async Task A_revoked_access_token_is_refused_while_other_sessions_keep_working()
    {
        var user = await _api.CreateUserAsync("viewer");
        var first = await _api.SignInAsync(user.Username, user.Password);
        var second = await _api.SignInAsync(user.Username, user.Password);
        using var firstClient = _api.WithBearer(first.AccessToken);
        using var secondClient = _api.WithBearer(second.AccessToken);

        var revoke = await secondClient.PostAsJsonAsync("/api/v1/auth/revoke", new { token = first.AccessToken }, Cancellation);

        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        var problem = await HttpConformance<TStore>.AssertProblemAsync(await firstClient.GetAsync("/api/v1/auth/me", Cancellation), HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("revoked", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await secondClient.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);
        // The first session itself lives on: its refresh token still gives a fresh access token.
        using var anonymous = _api.Anonymous();
        Assert.NotNull(await RefreshAsync(anonymous, first.RefreshToken));
    }

    [Fact]
    public async Task Another_users_token_cannot_be_revoked_without_user_update()
    {
        var (_, victim, victimTokens) = await _api.SignedInUserAsync("viewer");
        var (_, attacker, _) = await _api.SignedInUserAsync("operator");

        var attempt = await attacker.PostAsJsonAsync("/api/v1/auth/revoke", new { token = victimTokens.RefreshToken }, Cancellation);

        await HttpConformance<TStore>.AssertProblemAsync(attempt, HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.OK, (await victim.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Sessions_are_recorded_listed_and_ended_by_owner_and_admin()
    {
        var user = await _api.CreateUserAsync("viewer");
        using var anonymous = _api.Anonymous();
        anonymous.DefaultRequestHeaders.UserAgent.ParseAdd("SessionProbe/1.0");
        var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = user.Password }, Cancellation);
        var phone = Tokens.From(await signIn.Content.ReadFromJsonAsync<JsonElement>(Cancellation));
        var laptop = await _api.SignInAsync(user.Username, user.Password);
        using var client = _api.WithBearer(laptop.AccessToken);

        var sessions = await client.GetFromJsonAsync<JsonElement>("/api/v1/auth/sessions", Cancellation);

        var items = sessions.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        var phoneSession = items.Single(s => s.GetProperty("id").GetGuid() == phone.SessionId);
        Assert.Equal("SessionProbe/1.0", phoneSession.GetProperty("user_agent").GetString());
        Assert.Equal("127.0.0.1", phoneSession.GetProperty("ip_address").GetString());
        Assert.True(items.Single(s => s.GetProperty("id").GetGuid() == laptop.SessionId).GetProperty("is_current").GetBoolean());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/auth/sessions/{phone.SessionId}", Cancellation)).StatusCode);
        using var phoneClient = _api.WithBearer(phone.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phoneClient.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);

        var (_, operatorClient, _) = await _api.SignedInUserAsync("operator");
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.GetAsync($"/api/v1/auth/sessions?user_id={user.Id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await operatorClient.DeleteAsync($"/api/v1/auth/sessions/{laptop.SessionId}", Cancellation)).StatusCode);
        using var admin = await _api.AdminAsync();
        var listedByAdmin = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/auth/sessions?user_id={user.Id}", Cancellation);
        Assert.Equal(1, listedByAdmin.GetProperty("total").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/auth/sessions/{laptop.SessionId}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Using_a_session_moves_its_last_access_forward()
    {
        var (_, client, tokens) = await _api.SignedInUserAsync("viewer");
        server.Factory.Time.Advance(TimeSpan.FromMinutes(3));
        var now = server.Factory.Time.GetUtcNow();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);

        var sessions = await client.GetFromJsonAsync<JsonElement>("/api/v1/auth/sessions", Cancellation);
        var session = sessions.GetProperty("items").EnumerateArray().Single(s => s.GetProperty("id").GetGuid() == tokens.SessionId);
        Assert.Equal(now, session.GetProperty("last_accessed_at").GetDateTimeOffset());
    }

    [Fact]
    public async Task Expired_rotated_and_revoked_tokens_are_swept_while_live_sessions_go_on()
    {
        var (_, client, tokens) = await _api.SignedInUserAsync("viewer");
        using var anonymous = _api.Anonymous();
        var rotated = await RefreshAsync(anonymous, tokens.RefreshToken);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsJsonAsync("/api/v1/auth/revoke", new { token = rotated!.AccessToken }, Cancellation)).StatusCode);

        // Judged eight days on; moving the whole server's clock that far would run every periodic timer for it.
        await server.Factory.Services.GetRequiredService<Identity.ExpiredCredentialSweeper>().SweepAsync(server.Factory.Time.GetUtcNow().AddDays(8), Cancellation);

        await using var db = server.Database();
        Assert.False(await db.ConsumedRefreshTokens.AnyAsync(t => t.SessionId == tokens.SessionId, Cancellation));
        Assert.False(await db.RevokedAccessTokens.AnyAsync(Cancellation));
        Assert.Null(await RefreshAsync(anonymous, tokens.RefreshToken));
        Assert.NotNull(await RefreshAsync(anonymous, rotated.RefreshToken));
    }

    [Fact]
    public async Task Users_are_validated_unique_regardless_of_case_and_never_show_passwords()
    {
        using var admin = await _api.AdminAsync();
        var name = $"casey{Guid.NewGuid():N}"[..20];

        var invalid = await admin.PostAsJsonAsync("/api/v1/users", new { username = "x", email = "not-an-email", password = "short" }, Cancellation);
        var created = await admin.PostAsJsonAsync("/api/v1/users", new { username = name, email = $"{name}@example.com", password = "a-long-enough-Passw0rd" }, Cancellation);
        var duplicate = await admin.PostAsJsonAsync("/api/v1/users", new { username = name.ToUpperInvariant(), email = "other@example.com", password = "a-long-enough-Passw0rd" }, Cancellation);
        var weak = await admin.PostAsJsonAsync("/api/v1/users", new { username = name + "x", email = "weak@example.com", password = $"{name}x-aaaaaaaa" }, Cancellation);

        var errors = (await HttpConformance<TStore>.AssertProblemAsync(invalid, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.True(errors.TryGetProperty("username", out _) && errors.TryGetProperty("email", out _) && errors.TryGetProperty("password", out _), errors.ToString());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadAsStringAsync(Cancellation);
        Assert.DoesNotContain("password", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hash", body, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["viewer"], JsonDocument.Parse(body).RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        await HttpConformance<TStore>.AssertProblemAsync(duplicate, HttpStatusCode.Conflict, "conflict");
        await HttpConformance<TStore>.AssertProblemAsync(weak, HttpStatusCode.BadRequest, "validation");
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid();
        var listed = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/users?q={name}", Cancellation);
        Assert.Equal(id, Assert.Single(listed.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        var patched = await admin.PatchAsJsonAsync($"/api/v1/users/{id}", new { email = $"NEW-{name}@Example.com" }, Cancellation);
        Assert.Equal($"new-{name}@example.com", (await patched.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("email").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/users/{id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/users/{id}", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Passwords_are_stored_only_as_salted_slow_hashes()
    {
        var first = await _api.CreateUserAsync("viewer");
        var second = await _api.CreateUserAsync("viewer");

        await using var db = server.Database();
        var hashes = await db.Users.Where(u => u.Id == first.Id || u.Id == second.Id).Select(u => u.PasswordHash).ToListAsync(Cancellation);

        Assert.All(hashes, h => Assert.DoesNotContain(first.Password, h, StringComparison.Ordinal));
        // ASP.NET Core Identity's v3 format: PBKDF2 with HMAC-SHA512, a random salt and 100,000 iterations.
        Assert.All(hashes, h => Assert.Equal(0x01, Convert.FromBase64String(h)[0]));
        Assert.NotEqual(hashes[0], hashes[1]);
    }

    [Fact]
    public async Task Disabling_a_user_ends_their_sessions_tokens_and_keys()
    {
        var (user, client, tokens) = await _api.SignedInUserAsync("developer");
        var key = await CreateKeyAsync(client, ["agent:view"]);
        using var keyClient = _api.WithApiKey(key);
        Assert.Equal(HttpStatusCode.OK, (await keyClient.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        using var admin = await _api.AdminAsync();

        var disable = await admin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new { is_active = false }, Cancellation);

        Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await keyClient.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        using var anonymous = _api.Anonymous();
        Assert.Null(await RefreshAsync(anonymous, tokens.RefreshToken));
        var signIn = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = user.Password }, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(signIn, HttpStatusCode.Unauthorized, "invalid-credentials");
    }

    [Fact]
    public async Task Role_changes_apply_to_existing_tokens_and_the_last_admin_cannot_be_removed()
    {
        var (user, client, _) = await _api.SignedInUserAsync("viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/users", Cancellation)).StatusCode);
        using var admin = await _api.AdminAsync();

        var promote = await admin.PutAsJsonAsync($"/api/v1/users/{user.Id}/roles", new { roles = new[] { "admin" } }, Cancellation);

        Assert.Equal(HttpStatusCode.OK, promote.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/users", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/v1/users/{user.Id}/roles", new { roles = new[] { "viewer" } }, Cancellation)).StatusCode);
        var forbidden = await client.GetAsync("/api/v1/users", Cancellation);
        var problem = await HttpConformance<TStore>.AssertProblemAsync(forbidden, HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("user:view", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var unknownRole = await admin.PutAsJsonAsync($"/api/v1/users/{user.Id}/roles", new { roles = new[] { "root" } }, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(unknownRole, HttpStatusCode.BadRequest, "validation");
        var me = await admin.GetFromJsonAsync<JsonElement>("/api/v1/auth/me", Cancellation);
        var adminId = me.GetProperty("user").GetProperty("id").GetGuid();
        var demoteLast = await admin.PutAsJsonAsync($"/api/v1/users/{adminId}/roles", new { roles = new[] { "viewer" } }, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(demoteLast, HttpStatusCode.Conflict, "conflict");
        await HttpConformance<TStore>.AssertProblemAsync(await admin.DeleteAsync($"/api/v1/users/{adminId}", Cancellation), HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Api_keys_are_scoped_to_their_creator_shown_once_and_accepted_in_both_headers()
    {
        var (_, developer, _) = await _api.SignedInUserAsync("developer");

        var tooWide = await developer.PostAsJsonAsync("/api/v1/api-keys", new { name = "wide", scopes = new[] { "agent:view", "user:create" } }, Cancellation);
        var created = await developer.PostAsJsonAsync("/api/v1/api-keys", new { name = "ci", scopes = new[] { "agent:view" } }, Cancellation);

        var errors = (await HttpConformance<TStore>.AssertProblemAsync(tooWide, HttpStatusCode.BadRequest, "validation")).GetProperty("errors");
        Assert.Contains("user:create", errors.GetProperty("scopes")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var json = await created.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var key = json.GetProperty("key").GetString()!;
        var id = json.GetProperty("api_key").GetProperty("id").GetGuid();
        var shownAgain = await developer.GetStringAsync($"/api/v1/api-keys/{id}", Cancellation);
        Assert.DoesNotContain(key, shownAgain, StringComparison.Ordinal);
        Assert.DoesNotContain(key[12..], await developer.GetStringAsync("/api/v1/api-keys", Cancellation), StringComparison.Ordinal);

        using var header = _api.WithApiKey(key);
        using var bearer = _api.WithBearer(key);
        Assert.Equal(HttpStatusCode.OK, (await header.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        // The key has only agent:view, although its owner may do more.
        await HttpConformance<TStore>.AssertProblemAsync(await header.PostAsJsonAsync("/api/v1/api-keys", new { name = "child", scopes = new[] { "task:create" } }, Cancellation), HttpStatusCode.BadRequest, "validation");
        var me = await header.GetFromJsonAsync<JsonElement>("/api/v1/auth/me", Cancellation);
        Assert.Equal(["agent:view"], me.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(id, me.GetProperty("api_key_id").GetGuid());
        var listed = await developer.GetFromJsonAsync<JsonElement>($"/api/v1/api-keys/{id}", Cancellation);
        Assert.Equal(JsonValueKind.String, listed.GetProperty("last_used_at").ValueKind);
    }

    [Fact]
    public async Task Api_keys_stop_working_when_revoked_or_expired()
    {
        var (_, owner, _) = await _api.SignedInUserAsync("developer");
        var expiring = await CreateKeyAsync(owner, ["agent:view"], server.Factory.Time.GetUtcNow().AddHours(1));
        var revoked = await owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "to-revoke", scopes = new[] { "agent:view" } }, Cancellation);
        var revokedJson = await revoked.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        using var expiringClient = _api.WithApiKey(expiring);
        using var revokedClient = _api.WithApiKey(revokedJson.GetProperty("key").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await revokedClient.GetAsync("/api/v1/agents", Cancellation)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/api/v1/api-keys/{revokedJson.GetProperty("api_key").GetProperty("id").GetGuid()}", Cancellation)).StatusCode);
        server.Factory.Time.Advance(TimeSpan.FromHours(2));

        var problem = await HttpConformance<TStore>.AssertProblemAsync(await expiringClient.GetAsync("/api/v1/agents", Cancellation), HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("expired", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await revokedClient.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
        using var made = _api.WithApiKey("szk_" + new string('A', 43));
        Assert.Equal(HttpStatusCode.Unauthorized, (await made.GetAsync("/api/v1/agents", Cancellation)).StatusCode);
    }

    [Fact]
    public async Task Mfa_is_enrolled_confirmed_enforced_replay_safe_recoverable_and_disabled_with_reauthentication()
    {
        var (user, client, _) = await _api.SignedInUserAsync("viewer");
        var time = server.Factory.Time;
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/api/v1/auth/mfa/enroll", new { password = "wrong-password" }, Cancellation)).StatusCode);

        var enrolment = await (await client.PostAsJsonAsync("/api/v1/auth/mfa/enroll", new { password = user.Password }, Cancellation)).Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var secret = enrolment.GetProperty("secret").GetString()!;
        Assert.StartsWith("otpauth://totp/SutazAI%3A", enrolment.GetProperty("otpauth_uri").GetString(), StringComparison.Ordinal);
        var totp = new Totp(Base32Encoding.ToBytes(secret));
        var confirm = await client.PostAsJsonAsync("/api/v1/auth/mfa/confirm", new { code = totp.ComputeTotp(time.GetUtcNow().UtcDateTime) }, Cancellation);
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        var recovery = (await confirm.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("recovery_codes").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.Equal(10, recovery.Distinct().Count());

        using var anonymous = _api.Anonymous();
        var withoutCode = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = user.Password }, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(withoutCode, HttpStatusCode.Unauthorized, "mfa-required");
        time.Advance(TimeSpan.FromSeconds(30));
        var code = totp.ComputeTotp(time.GetUtcNow().UtcDateTime);
        var withCode = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = user.Password, totp_code = code }, Cancellation);
        Assert.Equal(HttpStatusCode.OK, withCode.StatusCode);
        var replay = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = user.Password, totp_code = code }, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(replay, HttpStatusCode.Unauthorized, "invalid-credentials");
        var withRecovery = await _api.SignInAsync(user.Username, user.Password, recoveryCode: recovery[0].ToLowerInvariant());
        var recoveryAgain = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = user.Password, recovery_code = recovery[0] }, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(recoveryAgain, HttpStatusCode.Unauthorized, "invalid-credentials");

        using var recovered = _api.WithBearer(withRecovery.AccessToken);
        Assert.Equal("password+recovery", (await recovered.GetFromJsonAsync<JsonElement>("/api/v1/auth/me", Cancellation)).GetProperty("auth_method").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await recovered.PostAsJsonAsync("/api/v1/auth/mfa/disable", new { password = "wrong-password", code = recovery[1] }, Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await recovered.PostAsJsonAsync("/api/v1/auth/mfa/disable", new { password = user.Password, code = recovery[1] }, Cancellation)).StatusCode);
        await _api.SignInAsync(user.Username, user.Password);
    }

    [Fact]
    public async Task Repeated_failures_lock_the_name_whether_or_not_it_exists_and_the_lock_lifts()
    {
        var user = await _api.CreateUserAsync("viewer");
        using var anonymous = _api.Anonymous();
        foreach (var name in new[] { user.Username, "nobody-" + Guid.NewGuid().ToString("N")[..8] })
        {
            for (var i = 0; i < 5; i++)
            {
                var wrong = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = name, password = "wrong-password-" + i }, Cancellation);
                Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            }

            var locked = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = name, password = user.Password }, Cancellation);
            await HttpConformance<TStore>.AssertProblemAsync(locked, (HttpStatusCode)429, "too-many-requests");
            Assert.Equal("900", locked.Headers.GetValues("Retry-After").Single());
        }

        server.Factory.Time.Advance(TimeSpan.FromMinutes(16));

        await _api.SignInAsync(user.Username, user.Password);
    }

    [Fact]
    public async Task Unknown_user_and_wrong_password_get_the_same_answer()
    {
        var user = await _api.CreateUserAsync("viewer");
        using var anonymous = _api.Anonymous();

        var wrongPassword = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = "not-the-password" }, Cancellation);
        var unknownUser = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = "no-such-" + user.Username, password = "not-the-password" }, Cancellation);

        Assert.Equal(wrongPassword.StatusCode, unknownUser.StatusCode);
        var a = await wrongPassword.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var b = await unknownUser.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        foreach (var field in new[] { "type", "title", "detail", "status" })
        {
            Assert.Equal(a.GetProperty(field).ToString(), b.GetProperty(field).ToString());
        }
    }

    [Fact]
    public async Task Expired_forged_unsigned_and_malformed_tokens_get_401_problems()
    {
        var (_, _, tokens) = await _api.SignedInUserAsync("viewer");
        var original = new JsonWebToken(tokens.AccessToken);
        using var forgedKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = original.Issuer,
            Audience = original.Audiences.Single(),
            Expires = original.ValidTo,
            Claims = original.Claims.Where(c => c.Type is not ("exp" or "iss" or "aud")).ToDictionary(c => c.Type, c => (object)c.Value),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(forgedKey) { KeyId = original.Kid }, SecurityAlgorithms.EcdsaSha256),
        });
        var unsigned = $"{Base64Url("""{"alg":"none","typ":"JWT"}""")}.{tokens.AccessToken.Split('.')[1]}.";
        var hmac = $"{Base64Url($$"""{"alg":"HS256","typ":"JWT","kid":"{{original.Kid}}"}""")}.{tokens.AccessToken.Split('.')[1]}.{Base64Url("not-a-signature")}";

        var cases = new Dictionary<string, (string Token, string Detail)>
        {
            ["forged"] = (forged, "signature"),
            ["alg none"] = (unsigned, ""),
            ["hs256"] = (hmac, ""),
            ["garbage"] = ("not.a.token", "malformed"),
            ["huge"] = (new string('a', 12_000), ""),
        };
        foreach (var (name, (token, detail)) in cases)
        {
            using var client = _api.WithBearer(token);
            var problem = await HttpConformance<TStore>.AssertProblemAsync(await client.GetAsync("/api/v1/auth/me", Cancellation), HttpStatusCode.Unauthorized, "unauthorized");
            Assert.True(problem.GetProperty("detail").GetString()!.Contains(detail, StringComparison.Ordinal), $"{name}: {problem}");
        }

        using var valid = _api.WithBearer(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("/api/v1/auth/me", Cancellation)).StatusCode);
        server.Factory.Time.Advance(TimeSpan.FromMinutes(16));
        var expiredResponse = await valid.GetAsync("/api/v1/auth/me", Cancellation);
        var expired = await HttpConformance<TStore>.AssertProblemAsync(expiredResponse, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("expired", expired.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("invalid_token", expiredResponse.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Odd_credentials_get_plain_answers_and_never_an_error()
    {
        using var anonymous = _api.Anonymous();
        string[] usernames = ["admin' OR '1'='1", "admin\"; DROP TABLE users; --", "ädmin\u202e\u0000", "💥", new string('x', 190), "%00", "admin\r\nX-Injected: 1"];
        foreach (var username in usernames)
        {
            var response = await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username, password = "' OR 1=1 --\u0000😀" }, Cancellation);
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest, $"{username}: {response.StatusCode}");
        }

        using var hugeHeader = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me");
        hugeHeader.Headers.TryAddWithoutValidation("Authorization", "Bearer " + new string('a', 40_000));
        var tooBig = await anonymous.SendAsync(hugeHeader, Cancellation);
        Assert.True(tooBig.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.RequestHeaderFieldsTooLarge, tooBig.StatusCode.ToString());
        using var admin = await _api.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/users?q=%27%20OR%201%3D1%20--", Cancellation)).StatusCode);
        await HttpConformance<TStore>.AssertProblemAsync(await admin.GetAsync("/api/v1/users?q=a%00b", Cancellation), HttpStatusCode.BadRequest, "bad-request");
    }

    [Fact]
    public async Task Audit_log_records_security_events_with_filters_and_cannot_be_changed()
    {
        var (user, developer, _) = await _api.SignedInUserAsync("developer");
        using var anonymous = _api.Anonymous();
        await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = "wrong-password" }, Cancellation);
        await CreateKeyAsync(developer, ["agent:view"]);
        await developer.GetAsync("/api/v1/users", Cancellation);
        using var admin = await _api.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/v1/users/{user.Id}/roles", new { roles = new[] { "developer", "operator" } }, Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await developer.PutAsJsonAsync($"/api/v1/users/{user.Id}/roles", new { roles = new[] { "admin" } }, Cancellation)).StatusCode);

        var byUser = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?actor={user.Username}&limit=200", Cancellation);
        var aboutUser = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?target_type=user&target_id={user.Id}", Cancellation);
        var failures = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?action=auth.login&outcome=failure&actor={user.Username}", Cancellation);

        var actions = byUser.GetProperty("items").EnumerateArray().Select(e => (e.GetProperty("action").GetString(), e.GetProperty("outcome").GetString())).ToList();
        Assert.Contains(("auth.login", "success"), actions);
        Assert.Contains(("auth.login", "failure"), actions);
        Assert.Contains(("apikey.create", "success"), actions);
        Assert.Contains(("user.roles", "denied"), actions);
        var roleChange = aboutUser.GetProperty("items").EnumerateArray().First(e => e.GetProperty("action").GetString() == "user.roles" && e.GetProperty("outcome").GetString() == "success");
        Assert.Equal("admin", roleChange.GetProperty("actor_name").GetString());
        Assert.Equal("127.0.0.1", roleChange.GetProperty("ip_address").GetString());
        Assert.Equal(1, failures.GetProperty("total").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, (await developer.GetAsync("/api/v1/audit", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await admin.DeleteAsync("/api/v1/audit", Cancellation)).StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(() => server.Store.ExecuteAsync("UPDATE audit_log SET action = 'tampered'", Cancellation));
        await Assert.ThrowsAnyAsync<Exception>(() => server.Store.ExecuteAsync("DELETE FROM audit_log", Cancellation));
    }

    [Fact]
    public async Task No_password_token_or_key_reaches_the_logs()
    {
        var (user, client, tokens) = await _api.SignedInUserAsync("developer");
        using var anonymous = _api.Anonymous();
        const string wrongPassword = "wrong-but-secret-Password-42";
        await anonymous.PostAsJsonAsync("/api/v1/auth/token", new { username = user.Username, password = wrongPassword }, Cancellation);
        var refreshed = await RefreshAsync(anonymous, tokens.RefreshToken);
        var key = await CreateKeyAsync(client, ["agent:view"]);
        using var keyClient = _api.WithApiKey(key);
        await keyClient.GetAsync("/api/v1/agents?token=" + tokens.AccessToken, Cancellation);

        var logs = string.Join('\n', server.Factory.Logs.Rendered);

        Assert.Contains(user.Username, logs, StringComparison.Ordinal);
        foreach (var secret in new[] { user.Password, wrongPassword, SutazaiFactory.AdminPassword, tokens.AccessToken, tokens.RefreshToken, refreshed!.AccessToken, refreshed.RefreshToken, key })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    private static async Task<Tokens?> RefreshAsync(HttpClient anonymous, string refreshToken)
    {
        var response = await anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refresh_token = refreshToken }, Cancellation);
        return response.IsSuccessStatusCode ? Tokens.From(await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)) : null;
    }

    private static async Task<string> CreateKeyAsync(HttpClient client, string[] scopes, DateTimeOffset? expiresAt = null)
    {
        var response = await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "test key", scopes, expires_at = expiresAt }, Cancellation);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("key").GetString()!;
    }

    private static string Base64Url(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public sealed class SqliteSecurityTests(ServerFixture<SqliteTestStore> server) : SecurityConformance<SqliteTestStore>(server);

public sealed class PostgreSqlSecurityTests(ServerFixture<PostgreSqlTestStore> server) : SecurityConformance<PostgreSqlTestStore>(server);
