using Microsoft.Extensions.Time.Testing;
using Sutazai.Core.Tasks;

namespace Sutazai.Core.Tests;

public sealed class WakeScheduleTests
{
    [Fact]
    public void Each_time_wakes_once_when_it_comes_in_time_order_whatever_order_it_was_given_in()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var wakes = new List<DateTimeOffset>();
        using var schedule = new WakeSchedule(time, () => wakes.Add(time.GetUtcNow()));
        var start = time.GetUtcNow();

        schedule.At(start.AddSeconds(5));
        schedule.At(start.AddSeconds(2));
        schedule.At(start.AddSeconds(2));
        schedule.At(start.AddSeconds(9));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(wakes);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([start.AddSeconds(2)], wakes);
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal([start.AddSeconds(2), start.AddSeconds(5)], wakes);
        Assert.Equal(1, schedule.Pending);

        // A time already past wakes at once.
        schedule.At(start);
        Assert.Equal(3, wakes.Count);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal([start.AddSeconds(2), start.AddSeconds(5), start.AddSeconds(5), start.AddSeconds(9)], wakes);
        Assert.Equal(0, schedule.Pending);
    }
}
