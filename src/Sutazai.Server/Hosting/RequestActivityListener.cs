using System.Diagnostics;

namespace Sutazai.Server.Hosting;

/// <summary>
/// Makes ASP.NET Core start an activity for every request, so logs and problem details carry a W3C trace id
/// even when no tracing exporter is configured.
/// </summary>
internal sealed class RequestActivityListener : IHostedService, IDisposable
{
    private ActivityListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(_listener);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener?.Dispose();
}
