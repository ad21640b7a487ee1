using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Sutazai.Core;
using Sutazai.Core.Security;
using Sutazai.Core.Tasks;
using Sutazai.Persistence;

namespace Sutazai.Server.Tasks;

/// <summary>
/// Delivers task webhooks: each is POSTed with its event, a delivery id, a timestamp and an HMAC-SHA256
/// signature over <c>timestamp.body</c> made with the task's secret, and retried with backoff until the receiver
/// answers 2xx or the attempts run out. Deliveries are leased in the store, so a node that dies mid-delivery
/// hands them on. Every attempt's status is kept for <c>GET /api/v1/tasks/{id}/webhooks</c>.
/// </summary>
public sealed partial class WebhookSender(
    IDbContextFactory<SutazaiDbContext> contexts,
    IHttpClientFactory clients,
    ISecretProtector secrets,
    StartupState startup,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<WebhookSender> logger) : BackgroundService
{
    public const string ClientName = "webhooks";
    public const int MaxAttempts = 8;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private readonly string _node = platform.Value.ResolvedNodeName;
    private readonly Random _jitter = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await startup.WhenReady.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(Poll, time);
        do
        {
            try
            {
                await DeliverDueAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Sends every delivery that is due now; returns how many were attempted.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var due = await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.Status == WebhookDeliveryStatus.Pending && d.NextAttemptAt <= now && (d.LeaseOwner == null || d.LeaseExpiresAt < now))
            .OrderBy(d => d.NextAttemptAt)
            .Take(50)
            .ToListAsync(cancellationToken);
        var sent = 0;
        foreach (var delivery in due)
        {
            var claimed = await db.WebhookDeliveries
                .Where(d => d.Id == delivery.Id && d.Status == WebhookDeliveryStatus.Pending && (d.LeaseOwner == null || d.LeaseExpiresAt < now))
                .ExecuteUpdateAsync(d => d.SetProperty(x => x.LeaseOwner, _node).SetProperty(x => x.LeaseExpiresAt, now + Lease), cancellationToken);
            if (claimed == 1)
            {
                await SendAsync(db, delivery, cancellationToken);
                sent++;
            }
        }

        return sent;
    }

    private async Task SendAsync(SutazaiDbContext db, WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var secret = await db.Tasks.Where(t => t.Id == delivery.TaskId).Select(t => t.WebhookSecretProtected).SingleOrDefaultAsync(cancellationToken);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new StringContent(delivery.PayloadJson, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Sutazai-Event", delivery.Event);
        request.Headers.Add("X-Sutazai-Delivery", delivery.Id.ToString());
        request.Headers.Add("X-Sutazai-Timestamp", timestamp);
        if (secret is not null)
        {
            request.Headers.Add("X-Sutazai-Signature", "v1=" + Sign(secrets.UnprotectString(secret), timestamp, delivery.PayloadJson));
        }

        int? status = null;
        string? error = null;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            using var response = await clients.CreateClient(ClientName).SendAsync(request, linked.Token);
            status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                error = $"the receiver answered {status}";
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            error = e is OperationCanceledException ? "no answer within 10 s" : e.Message;
        }

        var now = time.GetUtcNow();
        var attempts = delivery.Attempts + 1;
        var delivered = error is null;
        var failed = !delivered && attempts >= MaxAttempts;
        var next = delivered || failed ? now : now + RetryBackoff.Delay(attempts, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10), _jitter);
        await db.WebhookDeliveries.Where(d => d.Id == delivery.Id).ExecuteUpdateAsync(d => d
            .SetProperty(x => x.Attempts, attempts)
            .SetProperty(x => x.LastStatusCode, status)
            .SetProperty(x => x.LastError, error)
            .SetProperty(x => x.Status, delivered ? WebhookDeliveryStatus.Delivered : failed ? WebhookDeliveryStatus.Failed : WebhookDeliveryStatus.Pending)
            .SetProperty(x => x.DeliveredAt, delivered ? now : null)
            .SetProperty(x => x.NextAttemptAt, next)
            .SetProperty(x => x.LeaseOwner, (string?)null)
            .SetProperty(x => x.LeaseExpiresAt, (DateTimeOffset?)null), CancellationToken.None);
        if (!delivered)
        {
            LogAttemptFailed(delivery.Id, delivery.Url, attempts, error);
        }
    }

    /// <summary>What receivers recompute to check a delivery: hex HMAC-SHA256 of <c>timestamp + "." + body</c>.</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} to {Url} failed (attempt {Attempt}): {Error}")]
    private partial void LogAttemptFailed(Guid deliveryId, string url, int attempt, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "A webhook delivery round failed; trying again shortly")]
    private partial void LogRoundFailed(Exception exception);
}
