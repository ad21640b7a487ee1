using Microsoft.Extensions.Options;
using Sutazai.Core;
using Sutazai.Persistence;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Hosting;

/// <summary>
/// Prepares the node in the background so that liveness answers at once: data dir, schema, reference data,
/// signing key, first administrator, agents declared in files. Until it finishes, <c>/health/ready</c> and the API answer 503.
/// A store that is not reachable yet is retried with growing pauses; a schema this build must not touch is not.
/// </summary>
public sealed partial class PlatformInitializer(
    IOptions<PlatformOptions> platform,
    DatabaseInitializer database,
    SigningKeyRing signingKeys,
    AdminBootstrapper admin,
    Agents.AgentFiles agentFiles,
    StartupState state,
    TimeProvider time,
    ILogger<PlatformInitializer> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await InitializeAsync(stoppingToken);
                state.MarkReady();
                LogReady();
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SchemaMismatchException e)
            {
                state.Report($"not ready: {e.Message}");
                LogSchemaMismatch(e.Message);
                return;
            }
            catch (Exception e)
            {
                state.Report($"not ready: initialization attempt {attempt} failed ({e.GetType().Name}: {e.Message}); retrying in {delay.TotalSeconds:0.#} s");
                LogAttemptFailed(e, attempt, delay.TotalSeconds);
                // Cancelled on shutdown; BackgroundService treats that as a normal stop.
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(platform.Value.ResolvedDataDir);
        state.Report("starting: applying migrations and seeding");
        await database.InitializeAsync(cancellationToken);
        state.Report("starting: signing key and administrator");
        await signingKeys.LoadAsync(cancellationToken);
        await admin.EnsureAdminAsync(cancellationToken);
        state.Report("starting: agents declared in files");
        await agentFiles.LoadAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SutazAI is ready")]
    private partial void LogReady();

    [LoggerMessage(Level = LogLevel.Critical, Message = "The store's schema does not match this build; the node stays unready: {Reason}")]
    private partial void LogSchemaMismatch(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Initialization attempt {Attempt} failed; retrying in {DelaySeconds} s")]
    private partial void LogAttemptFailed(Exception exception, int attempt, double delaySeconds);
}
