using Sutazai.Core.Tasks;
using Sutazai.Core.Workflows;

namespace Sutazai.Core.Tests;

public sealed class DagWorkflowTests
{
    private static DagTask Step(string id, int priority = 5, params string[] dependsOn) => new(id, Action: "echo", Priority: priority, Dependencies: dependsOn);

    private static DagWorkflow Flow(int maxConcurrent, bool continueOnFailure, params DagTask[] tasks) => new("wf", "test", tasks, maxConcurrent, continueOnFailure);

    [Fact]
    public void Validation_names_every_problem_by_field()
    {
        var errors = Flow(0, false, Step("a"), Step("a"), Step("b", 5, "b"), new DagTask("c", Dependencies: ["zz"])).Validate();

        Assert.Equal("Use 1 to 100.", errors["max_concurrent_tasks"]);
        Assert.Equal("'a' is used by an earlier task.", errors["tasks[1].task_id"]);
        Assert.Equal("'b' depends on itself.", errors["tasks[2].dependencies"]);
        Assert.Equal("'zz' is not a task of this workflow.", errors["tasks[3].dependencies"]);
        Assert.Contains("so the task can be routed", errors["tasks[3].agent_id"], StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_is_reported_along_its_path()
    {
        var errors = Flow(2, false, Step("start"), Step("x", 5, "z", "start"), Step("y", 5, "x"), Step("z", 5, "y")).Validate();

        Assert.Equal("The dependencies form a cycle: x -> z -> y -> x.", errors["tasks"]);
        Assert.Empty(Flow(2, false, Step("a"), Step("b", 5, "a"), Step("c", 5, "a", "b")).Validate());
    }

    [Fact]
    public void Ready_tasks_start_by_priority_up_to_the_limit()
    {
        var flow = Flow(2, false, Step("slow", 9), Step("urgent", 1), Step("normal"), Step("after", 5, "urgent"));

        var plan = DagPlanner.Plan(flow, new Dictionary<string, TaskState>());

        Assert.Equal(["urgent", "normal"], plan.Start.Select(s => s.TaskId));
        Assert.Equal(DagTaskStatus.Blocked, plan.Status["after"]);
        Assert.False(plan.Finished);
    }

    [Fact]
    public void Running_tasks_count_against_the_limit_and_completed_ones_release_their_dependents()
    {
        var flow = Flow(2, false, Step("a"), Step("b"), Step("c"), Step("d", 5, "a"));

        var plan = DagPlanner.Plan(flow, new Dictionary<string, TaskState> { ["a"] = TaskState.Completed, ["b"] = TaskState.Running });

        Assert.Equal(["c"], plan.Start.Select(s => s.TaskId));
        Assert.Equal(DagTaskStatus.Ready, plan.Status["d"]);
        Assert.Equal(0.25, plan.Progress);
    }

    [Fact]
    public void A_failure_skips_dependents_and_stops_the_rest_unless_told_to_continue()
    {
        DagTask[] tasks = [Step("a"), Step("b", 5, "a"), Step("c", 5, "b"), Step("other")];
        var states = new Dictionary<string, TaskState> { ["a"] = TaskState.TimedOut };

        var stop = DagPlanner.Plan(Flow(4, false, tasks), states);
        var go = DagPlanner.Plan(Flow(4, true, tasks), states);

        Assert.Equal((DagTaskStatus.Skipped, DagTaskStatus.Skipped), (stop.Status["b"], stop.Status["c"]));
        Assert.True(stop.Stopping);
        Assert.Empty(stop.Start);
        Assert.True(stop.Finished && stop.Failed);
        Assert.Equal(["other"], go.Start.Select(s => s.TaskId));
        Assert.False(go.Finished);
    }
}
