using System.Collections.Concurrent;
using Sutazai.Core.Agents;

namespace Sutazai.Core.Tasks;

/// <summary>
/// What the dispatcher's last look at the queue read beyond the slots free then, and whether the next round must look
/// again. A look and a claim are a round trip each: with a look before every claim, a freed slot stayed empty for
/// both. With tasks read ahead, a freed slot takes the next of them with a claim alone.
/// <para>
/// The tasks read ahead stand while they are still the head of the queue as far as this node knows: no task queued
/// here since comes before any of them, and nothing else changed the queue (<see cref="Invalidate"/>). A round must
/// look when an agent with a free slot has none of them left, unless its queue was empty at the last look and nothing
/// was queued for it here since. What other nodes queue is seen at the next poll, which always looks. A claim takes a
/// task only if it is still queued at the attempt that was read, so one taken elsewhere meanwhile is lost, not run
/// twice.
/// </para>
/// Queuing and invalidating may come from any thread; the rest only from the dispatch loop.
/// </summary>
internal sealed class DispatchReadAhead
{
    private IReadOnlyList<TaskItem> _tasks = [];

    /// <summary>The agents whose queues the last look read to the end.</summary>
    private HashSet<Guid> _emptied = [];

    /// <summary>Whether the last look read the tasks addressed to no agent to the end.</summary>
    private bool _unaddressedEmptied;

    /// <summary>The agents something was queued for here since the last look began.</summary>
    private readonly ConcurrentDictionary<Guid, bool> _queuedFor = new();

    /// <summary>The lowest dispatch score queued here since the last look began.</summary>
    private long _lowestQueued = long.MaxValue;

    /// <summary>1 when anything may have changed the queue: the next round looks.</summary>
    private int _stale = 1;

    /// <summary>A task with this dispatch score was queued for this agent (or for none).</summary>
    public void Queued(Guid? agentId, long dispatchScore)
    {
        var lowest = Volatile.Read(ref _lowestQueued);
        while (dispatchScore < lowest)
        {
            var seen = Interlocked.CompareExchange(ref _lowestQueued, dispatchScore, lowest);
            if (seen == lowest)
            {
                break;
            }

            lowest = seen;
        }

        if (agentId is { } agent)
        {
            _queuedFor.TryAdd(agent, true);
        }
        else
        {
            Invalidate();
        }
    }

    /// <summary>The queue may have changed anywhere (a retry, a requeue, a claim another node won, an agent change).</summary>
    public void Invalidate() => Volatile.Write(ref _stale, 1);

    /// <summary>The tasks read ahead, in dispatch order, if they still stand; each is handed out once.</summary>
    public IReadOnlyList<TaskItem> Take()
    {
        var tasks = _tasks;
        _tasks = [];
        return tasks.Count == 0 || Volatile.Read(ref _stale) == 1 || Volatile.Read(ref _lowestQueued) < tasks.Max(t => t.DispatchScore) ? [] : tasks;
    }

    /// <summary>Keeps these tasks, read and not placed, for the next round.</summary>
    public void Keep(IEnumerable<TaskItem> left) => _tasks = [.. left.DistinctBy(t => t.Id).OrderBy(t => t.DispatchScore)];

    /// <summary>Whether the queue must be read for the free slots of these agents, given the tasks still read ahead.</summary>
    public bool MustLook(IEnumerable<AgentEntry> agents, IReadOnlyCollection<TaskItem> left)
    {
        if (Volatile.Read(ref _stale) == 1)
        {
            return true;
        }

        var waiting = left.Select(t => t.AgentId).ToHashSet();
        return (!_unaddressedEmptied && !waiting.Contains(null))
            || agents.Any(a => a.FreeSlots > 0
                && !waiting.Contains(a.Definition.Id)
                && (!_emptied.Contains(a.Definition.Id) || _queuedFor.ContainsKey(a.Definition.Id)));
    }

    /// <summary>A look begins: what is queued from now on may not be in what it reads.</summary>
    public void BeginLook()
    {
        Volatile.Write(ref _stale, 0);
        Interlocked.Exchange(ref _lowestQueued, long.MaxValue);
        _queuedFor.Clear();
    }

    /// <summary>The agents whose queues the look read to the end.</summary>
    public void Emptied(HashSet<Guid> agents) => _emptied = agents;

    /// <summary>Whether the look read the tasks addressed to no agent to the end.</summary>
    public void UnaddressedEmptied(bool emptied) => _unaddressedEmptied = emptied;
}
