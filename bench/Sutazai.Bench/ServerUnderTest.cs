using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Sutazai.Bench;

/// <summary>The server's Release build, started as its own process with its own data dir and a free port.</summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    public const string AdminPassword = "bench-admin-password";

    private readonly Process _process;
    private readonly string _dataDir;
    private readonly BenchDatabase? _database;

    public int ProcessId => _process.Id;

    private ServerUnderTest(Process process, string dataDir, BenchDatabase? database, Uri address)
    {
        _process = process;
        _dataDir = dataDir;
        _database = database;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>CPU time the server process has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Signs in as the administrator and returns a bearer access token.</summary>
    public async Task<string> SignInAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(new Uri(Address, "/api/v1/auth/token"), new { username = "admin", password = AdminPassword }, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <param name="postgres">A PostgreSQL server to store in (in a new database of its own); SQLite in the data dir when null.</param>
    /// <param name="settings">More environment for the server, for example <c>SUTAZAI__MODELS__...</c>.</param>
    public static async Task<ServerUnderTest> StartAsync(string? postgres, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dataDir = Directory.CreateTempSubdirectory("sutazai-bench-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "exec", LocateServer() },
            WorkingDirectory = dataDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["SUTAZAI__DATADIR"] = dataDir;
        start.Environment["SUTAZAI__SERVER__PORT"] = "0";
        start.Environment["SUTAZAI__BOOTSTRAP__ADMINPASSWORD"] = AdminPassword;
        // The load comes from one user on one address; limits would measure the limiter, not the server.
        start.Environment["SUTAZAI__RATELIMITS__ENABLED"] = "false";
        // Request logging to the console would measure the terminal, not the server.
        start.Environment["SERILOG__MINIMUMLEVEL__OVERRIDE__SERILOG.ASPNETCORE.REQUESTLOGGINGMIDDLEWARE"] = "Warning";
        var database = postgres is null ? null : BenchDatabase.Create(postgres, "sutazai");
        if (database is not null)
        {
            start.Environment["SUTAZAI__STORAGE__PROVIDER"] = "PostgreSql";
            start.Environment["SUTAZAI__STORAGE__CONNECTIONSTRING"] = database.ConnectionString;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        Uri? address = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            using var entry = JsonDocument.Parse(line);
            if (entry.RootElement.TryGetProperty("address", out var listening))
            {
                address = new Uri(listening.GetString()!);
            }

            if (entry.RootElement.TryGetProperty("@m", out var message) && message.GetString() == "SutazAI is ready")
            {
                break;
            }
        }

        // Keep draining the log so the server never blocks on a full pipe.
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
        return new ServerUnderTest(process, dataDir, database, address ?? throw new InvalidOperationException("The server exited before it was ready."));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _database?.Dispose();
        Directory.Delete(_dataDir, recursive: true);
    }

    private static string LocateServer()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Sutazai.slnx")))
        {
            directory = directory.Parent;
        }

        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var server = directory is null ? null : Path.Combine(directory.FullName, "src", "Sutazai.Server", "bin", configuration, "net10.0", "Sutazai.Server.dll");
        return File.Exists(server) ? server : throw new FileNotFoundException("Build the server first: dotnet build -c Release", server);
    }
}
