namespace Sutazai.Core;

/// <summary>Whether this node has finished preparing the store and may take work; engines wait for it.</summary>
public sealed class StartupState
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string _status = "starting: migrations and seeding have not finished";

    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Completes when the node becomes ready.</summary>
    public Task WhenReady => _ready.Task;

    /// <summary>What the node is doing or waiting for, shown by <c>/health</c>.</summary>
    public string Status => _status;

    public void Report(string status) => _status = status;

    public void MarkReady()
    {
        _status = "ready";
        _ready.TrySetResult();
    }
}
