using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>
/// A backend's answer being streamed: each next token must come within the time limit, and the model's turn is
/// held until the stream is read to the end or dropped.
/// </summary>
internal sealed class OpenStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly IAsyncEnumerator<ChatResponseUpdate> _updates;
    private readonly TimeSpan _timeout;
    private readonly CancellationToken _caller;
    private IDisposable? _turn;

    public OpenStream(IAsyncEnumerable<ChatResponseUpdate> updates, TimeSpan timeout, TimeProvider time, CancellationToken caller)
    {
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, _timer.Token);
        _updates = updates.GetAsyncEnumerator(_linked.Token);
        _timeout = timeout;
        _caller = caller;
    }

    public string? Backend { get; private set; }

    public string? Model { get; private set; }

    public bool HasCurrent { get; set; }

    public ChatResponseUpdate Current => _updates.Current;

    public void Attach(string backend, string model, IDisposable turn) => (Backend, Model, _turn) = (backend, model, turn);

    /// <exception cref="TimeoutException">The backend gave no token within the limit.</exception>
    public async ValueTask<bool> MoveNextAsync()
    {
        _timer.CancelAfter(_timeout);
        try
        {
            return await _updates.MoveNextAsync();
        }
        catch (OperationCanceledException) when (_timer.IsCancellationRequested && !_caller.IsCancellationRequested)
        {
            throw new TimeoutException($"no token within {_timeout.TotalSeconds:0.#} s (Sutazai:Models:TimeoutSeconds)");
        }
        finally
        {
            _timer.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _updates.DisposeAsync();
        _linked.Dispose();
        _timer.Dispose();
        _turn?.Dispose();
    }
}
