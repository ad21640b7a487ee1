using System.Collections.Concurrent;

namespace Sutazai.Core.Models;

/// <summary>Model calls under way on this node, waiting or running, so a caller can see where it stands and stop it.</summary>
public sealed class ModelCalls(TimeProvider time)
{
    private readonly ConcurrentDictionary<Guid, ModelCall> _calls = new();

    public IReadOnlyList<ModelCall> Snapshot() => [.. _calls.Values.OrderBy(c => c.QueuedAt)];

    public ModelCall? Find(Guid id) => _calls.GetValueOrDefault(id);

    internal ModelCall Begin(Guid id, string operation, string model, ModelCaller caller, int priority, CancellationToken callerToken)
    {
        var call = new ModelCall(id == Guid.Empty ? Guid.CreateVersion7() : id, operation, model, caller, priority, time.GetUtcNow(), this, callerToken);
        if (!_calls.TryAdd(call.Id, call))
        {
            call.Dispose();
            throw new ArgumentException($"A model call with id {id} is already under way.");
        }

        return call;
    }

    internal void End(ModelCall call) => _calls.TryRemove(new KeyValuePair<Guid, ModelCall>(call.Id, call));
}

/// <summary>One call: what it is for, when it came and started, and how to stop it.</summary>
public sealed class ModelCall : IDisposable
{
    private readonly ReasonedCancellation _cancel;
    private readonly ModelCalls _owner;

    internal ModelCall(Guid id, string operation, string model, ModelCaller caller, int priority, DateTimeOffset queuedAt, ModelCalls owner, CancellationToken callerToken)
    {
        Id = id;
        Operation = operation;
        Model = model;
        Caller = caller;
        Priority = priority;
        QueuedAt = queuedAt;
        _owner = owner;
        _cancel = new ReasonedCancellation(callerToken);
    }

    public Guid Id { get; }

    /// <summary><c>chat</c> or <c>embed</c>.</summary>
    public string Operation { get; }

    /// <summary>The model it waits for or runs on now (a fallback once it has moved on).</summary>
    public string Model { get; internal set; }

    public ModelCaller Caller { get; }

    public int Priority { get; }

    public DateTimeOffset QueuedAt { get; }

    /// <summary>When it got its turn; null while it waits.</summary>
    public DateTimeOffset? StartedAt { get; internal set; }

    /// <summary>Why it was stopped, when someone stopped it.</summary>
    public string? CancelledBecause => _cancel.Reason;

    internal CancellationToken Token => _cancel.Token;

    /// <summary>Stops it, waiting or running; the caller gets an error that says why.</summary>
    public void Cancel(string reason) => _cancel.Cancel(reason);

    /// <summary>Turns a cancellation this call saw into the reason someone stopped it, when someone did.</summary>
    internal void ThrowIfStopped()
    {
        if (CancelledBecause is { } reason)
        {
            throw new ModelCallCancelledException(Id, reason);
        }
    }

    public void Dispose()
    {
        _owner.End(this);
        _cancel.Dispose();
    }
}

/// <summary>Someone stopped the call while it waited or ran.</summary>
public sealed class ModelCallCancelledException(Guid callId, string reason) : Exception($"Model call {callId} was stopped: {reason}.")
{
    public Guid CallId { get; } = callId;
}
