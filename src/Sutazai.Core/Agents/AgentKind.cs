namespace Sutazai.Core.Agents;

public enum AgentKind
{
    BuiltIn,
    Llm,
    Http,
}
