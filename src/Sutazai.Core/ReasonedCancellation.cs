namespace Sutazai.Core;

/// <summary>
/// A cancellation that remembers why it was asked for (the first reason given), and that may be asked for after
/// its owner has finished and disposed it.
/// </summary>
public sealed class ReasonedCancellation(CancellationToken linkedTo = default) : IDisposable
{
    private readonly CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(linkedTo);

    /// <summary>Cancelled by <see cref="Cancel"/>, or by the token it is linked to.</summary>
    public CancellationToken Token => _source.Token;

    public bool IsCancellationRequested => _source.IsCancellationRequested;

    /// <summary>Why <see cref="Cancel"/> was called; null when it was not (even if the linked token fired).</summary>
    public string? Reason { get; private set; }

    public void Cancel(string reason)
    {
        Reason ??= reason;
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Its owner finished in the meantime.
        }
    }

    public void Dispose() => _source.Dispose();
}
