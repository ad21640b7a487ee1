using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace Sutazai.Server.Tests;

/// <summary>
/// The server as a real operating-system process, started the way a user starts it, with its JSON log
/// lines readable as they come. For what only a process can show: first start, signals, restarts.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _output = [];
    private readonly List<string> _errors = [];

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public Uri? Address { get; private set; }

    /// <summary>Every line written to standard output so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join('\n', _errors);
            }
        }
    }

    public static ServerProcess Start(string workingDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var entryPoint = Path.Combine(AppContext.BaseDirectory, "Sutazai.Server.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", entryPoint },
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SUTAZAI__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (server._errors)
                {
                    server._errors.Add(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits for a log line whose rendered message contains <paramref name="text"/>.</summary>
    public async Task<JsonElement> WaitForLogAsync(string text, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(timer.Token))
            {
                if (TryParse(line) is { } entry && Message(entry).Contains(text, StringComparison.Ordinal))
                {
                    return entry;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        throw new TimeoutException($"The server did not log '{text}' within {timeout}. Exit: {(_process.HasExited ? _process.ExitCode : "running")}.\nOutput:\n{string.Join('\n', Output.TakeLast(30))}\nErrors:\n{Errors}");
    }

    /// <summary>Log entries (parsed JSON lines) whose rendered message contains <paramref name="text"/>.</summary>
    public IReadOnlyList<JsonElement> LogsContaining(string text) =>
        [.. Output.Select(TryParse).OfType<JsonElement>().Where(e => Message(e).Contains(text, StringComparison.Ordinal))];

    /// <summary>Asks the server to stop as a service manager would (SIGTERM) and returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using (var kill = Process.Start("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }

        return await WaitForExitAsync(timeout, cancellationToken);
    }

    /// <summary>Kills the server outright (SIGKILL): no shutdown, no cleanup, leases left as they were.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            _lines.Writer.TryComplete();
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }

        if (Address is null && TryParse(line) is { } entry && entry.TryGetProperty("address", out var address))
        {
            Address = new Uri(address.GetString()!);
        }

        _lines.Writer.TryWrite(line);
    }

    private static JsonElement? TryParse(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(line).RootElement;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Message(JsonElement entry) => entry.TryGetProperty("@m", out var m) ? m.GetString() ?? "" : "";
}
