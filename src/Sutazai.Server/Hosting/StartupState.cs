namespace Sutazai.Server.Hosting;

/// <summary>Whether this node has finished preparing the store and may take work.</summary>
public sealed class StartupState
{
    private volatile string _status = "starting: migrations and seeding have not finished";
    private volatile bool _ready;

    public bool IsReady => _ready;

    /// <summary>What the node is doing or waiting for, shown by <c>/health/ready</c>.</summary>
    public string Status => _status;

    public void Report(string status) => _status = status;

    public void MarkReady()
    {
        _status = "ready";
        _ready = true;
    }
}
