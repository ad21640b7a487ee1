using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Sutazai.Core.Tasks;

namespace Sutazai.Server.Tasks;

/// <summary>
/// Task changes as server-sent events: a <c>subscribed</c> event at once (so clients and proxies see the stream
/// open), then each change as a <c>task</c> event, and a <c>keepalive</c> event after 15 quiet seconds so idle
/// connections are not cut by proxies.
/// </summary>
internal static class LiveEvents
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static async IAsyncEnumerable<SseItem<object>> Follow(
        TaskEventHub.Subscription subscription,
        TaskChangeView? first,
        Func<TaskChangeView, bool> isLast,
        TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (subscription)
        {
            yield return new SseItem<object>(new { subscribed = true }, "subscribed");
            if (first is not null)
            {
                yield return new SseItem<object>(first, "task");
                if (isLast(first))
                {
                    yield break;
                }
            }

            await using var changes = subscription.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
            var next = changes.MoveNextAsync().AsTask();
            while (true)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var idle = Task.Delay(KeepAlive, time, quiet.Token);
                if (await Task.WhenAny(next, idle) == idle)
                {
                    yield return new SseItem<object>(new { at = time.GetUtcNow() }, "keepalive");
                    continue;
                }

                await quiet.CancelAsync();
                if (!await next)
                {
                    yield break;
                }

                var change = TaskChangeView.From(changes.Current);
                yield return new SseItem<object>(change, "task");
                if (isLast(change))
                {
                    yield break;
                }

                next = changes.MoveNextAsync().AsTask();
            }
        }
    }
}
