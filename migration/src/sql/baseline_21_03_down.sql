-- Undoes baseline_21_03_up.sql: every table and enum type of the 21.03 schema. Destroys all data.
DROP TABLE IF EXISTS
    vfolder_permissions, vfolder_invitations, vfolder_attachment, vfolders, error_logs,
    session_templates, session_dependencies, kernels, agents, sgroups_for_keypairs,
    sgroups_for_groups, sgroups_for_domains, keypairs, association_groups_users, groups, users,
    resource_presets, keypair_resource_policies, scaling_groups, domains, alembic_version;
DROP TYPE IF EXISTS
    agentstatus, defaultforunspecified, errorlog_severity, kernelstatus, sessionresult,
    sessiontypes, templatetype, userrole, userstatus, vfolderinvitationstate,
    vfolderownershiptype, vfolderpermission, vfolderusagemode;
