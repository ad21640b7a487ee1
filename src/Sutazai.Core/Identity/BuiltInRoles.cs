using static Sutazai.Core.Identity.Permissions;

namespace Sutazai.Core.Identity;

/// <summary>
/// The spec's permission matrix (P4-AUTH-002), extended to every area: admin holds everything,
/// operator runs and watches, developer builds, viewer looks.
/// </summary>
public static class BuiltInRoles
{
    public const string Admin = "admin";
    public const string Operator = "operator";
    public const string Developer = "developer";
    public const string Viewer = "viewer";

    public static IReadOnlyList<RoleDefinition> All { get; } =
    [
        new(Admin, "Everything, including users, roles, audit and system administration.", Permissions.All),
        new(Operator, "Runs and watches work across all users; no user or system administration.",
        [
            AgentView, AgentExecute,
            TaskView, TaskCreate, TaskManage,
            WorkflowView, WorkflowExecute, WorkflowApprove,
            KnowledgeView,
            ModelView, ModelUse,
            SystemMonitor,
        ]),
        new(Developer, "Builds agents, tasks, workflows and knowledge; sees their own work.",
        [
            AgentView, AgentCreate, AgentUpdate, AgentExecute,
            TaskView, TaskCreate, TaskUpdate,
            WorkflowView, WorkflowCreate, WorkflowUpdate, WorkflowExecute,
            KnowledgeView, KnowledgeCreate, KnowledgeUpdate,
            ModelView, ModelUse,
        ]),
        new(Viewer, "Reads agents, tasks, workflows, knowledge, models and monitoring.",
        [
            AgentView, TaskView, WorkflowView, KnowledgeView, ModelView, SystemMonitor,
        ]),
    ];
}

public sealed record RoleDefinition(string Name, string Description, IReadOnlyList<string> Permissions);
