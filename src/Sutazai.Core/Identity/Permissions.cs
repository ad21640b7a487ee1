namespace Sutazai.Core.Identity;

/// <summary>Every permission the platform checks, as <c>area:verb</c>.</summary>
public static class Permissions
{
    public const string AgentView = "agent:view";
    public const string AgentCreate = "agent:create";
    public const string AgentUpdate = "agent:update";
    public const string AgentDelete = "agent:delete";
    public const string AgentExecute = "agent:execute";

    public const string TaskView = "task:view";
    public const string TaskCreate = "task:create";
    public const string TaskUpdate = "task:update";
    public const string TaskDelete = "task:delete";
    /// <summary>See and act on every user's tasks, not only one's own.</summary>
    public const string TaskManage = "task:manage";

    public const string WorkflowView = "workflow:view";
    public const string WorkflowCreate = "workflow:create";
    public const string WorkflowUpdate = "workflow:update";
    public const string WorkflowDelete = "workflow:delete";
    public const string WorkflowExecute = "workflow:execute";
    public const string WorkflowApprove = "workflow:approve";

    public const string KnowledgeView = "knowledge:view";
    public const string KnowledgeCreate = "knowledge:create";
    public const string KnowledgeUpdate = "knowledge:update";
    public const string KnowledgeDelete = "knowledge:delete";

    public const string ModelView = "model:view";
    public const string ModelUse = "model:use";
    public const string ModelManage = "model:manage";

    public const string UserView = "user:view";
    public const string UserCreate = "user:create";
    public const string UserUpdate = "user:update";
    public const string UserDelete = "user:delete";
    public const string RoleAssign = "role:assign";

    public const string AuditView = "audit:view";

    public const string SystemAdmin = "system:admin";
    public const string SystemMonitor = "system:monitor";
    public const string SystemConfig = "system:config";

    public static IReadOnlyList<string> All { get; } =
    [
        AgentView, AgentCreate, AgentUpdate, AgentDelete, AgentExecute,
        TaskView, TaskCreate, TaskUpdate, TaskDelete, TaskManage,
        WorkflowView, WorkflowCreate, WorkflowUpdate, WorkflowDelete, WorkflowExecute, WorkflowApprove,
        KnowledgeView, KnowledgeCreate, KnowledgeUpdate, KnowledgeDelete,
        ModelView, ModelUse, ModelManage,
        UserView, UserCreate, UserUpdate, UserDelete, RoleAssign,
        AuditView,
        SystemAdmin, SystemMonitor, SystemConfig,
    ];
}
