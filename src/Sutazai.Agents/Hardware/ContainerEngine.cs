using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Sutazai.Agents.Hardware;

/// <summary>
/// Stopped containers and dangling images, through the Docker Engine API on its Unix socket. Nothing is assumed
/// about an engine that does not answer.
/// </summary>
public sealed class ContainerEngine(string socketPath) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        BaseAddress = new Uri("http://engine/v1.41/"),
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <returns>Null when the engine answers, otherwise why not.</returns>
    public async Task<string?> PingAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(socketPath))
        {
            return $"no container engine socket at {socketPath}";
        }

        try
        {
            using var response = await _http.GetAsync("_ping", cancellationToken);
            return response.IsSuccessStatusCode ? null : $"the container engine at {socketPath} answered {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return $"no container engine answers at {socketPath}: {e.Message}";
        }
    }

    public async Task<ContainerCleanupReport> CleanUpAsync(bool dryRun, CancellationToken cancellationToken)
    {
        var containers = await _http.GetFromJsonAsync<JsonElement>("containers/json?all=1&size=1&filters=" + Uri.EscapeDataString("""{"status":["exited","dead"]}"""), cancellationToken);
        var images = await _http.GetFromJsonAsync<JsonElement>("images/json?filters=" + Uri.EscapeDataString("""{"dangling":["true"]}"""), cancellationToken);
        var removedContainers = new List<ContainerView>();
        var removedImages = new List<ImageView>();
        var errors = new List<string>();
        foreach (var container in containers.EnumerateArray())
        {
            var view = new ContainerView(
                container.GetProperty("Id").GetString()!,
                container.TryGetProperty("Names", out var names) && names.GetArrayLength() > 0 ? names[0].GetString()!.TrimStart('/') : "",
                container.GetProperty("Image").GetString() ?? "",
                container.GetProperty("Status").GetString() ?? "",
                container.TryGetProperty("SizeRw", out var size) ? size.GetInt64() : 0);
            if (!dryRun && await DeleteAsync($"containers/{view.Id}", cancellationToken) is { } error)
            {
                errors.Add($"container {view.Name}: {error}");
                continue;
            }

            removedContainers.Add(view);
        }

        foreach (var image in images.EnumerateArray())
        {
            var view = new ImageView(image.GetProperty("Id").GetString()!, image.GetProperty("Size").GetInt64());
            if (!dryRun && await DeleteAsync($"images/{view.Id}", cancellationToken) is { } error)
            {
                errors.Add($"image {view.Id}: {error}");
                continue;
            }

            removedImages.Add(view);
        }

        return new ContainerCleanupReport(dryRun, removedContainers, removedImages, removedContainers.Sum(c => c.WritableBytes) + removedImages.Sum(i => i.Bytes), errors);
    }

    public void Dispose() => _http.Dispose();

    private async Task<string?> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync(path, cancellationToken);
        return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}";
    }
}

public sealed record ContainerView(string Id, string Name, string Image, string Status, long WritableBytes);

public sealed record ImageView(string Id, long Bytes);

public sealed record ContainerCleanupReport(bool DryRun, IReadOnlyList<ContainerView> Containers, IReadOnlyList<ImageView> Images, long BytesFreed, IReadOnlyList<string> Errors);
