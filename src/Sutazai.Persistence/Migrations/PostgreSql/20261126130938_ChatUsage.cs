using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class ChatUsage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "api_key_id",
                table: "chat_history",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "backend",
                table: "chat_history",
                type: "character varying(200)",
                maxLength: 200,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<Guid>(
                name: "task_id",
                table: "chat_history",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_chat_history_model_created_at",
                table: "chat_history",
                columns: new[] { "model", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_chat_history_task_id",
                table: "chat_history",
                column: "task_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_chat_history_model_created_at",
                table: "chat_history");

            migrationBuilder.DropIndex(
                name: "ix_chat_history_task_id",
                table: "chat_history");

            migrationBuilder.DropColumn(
                name: "api_key_id",
                table: "chat_history");

            migrationBuilder.DropColumn(
                name: "backend",
                table: "chat_history");

            migrationBuilder.DropColumn(
                name: "task_id",
                table: "chat_history");
        }
    }
}
