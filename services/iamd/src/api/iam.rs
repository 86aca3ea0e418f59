//! The `Iam` service: each rpc delegates to one function of a module per entity family.
//! Rpcs of later work (MFA devices, OIDC providers, GetAccountAuthorizationDetails) answer `Unimplemented`
//! through the generated default stubs until they are built.

use std::pin::Pin;
use std::sync::Arc;

use iam_api::v1 as pb;
use iam_api::v1::iam_server::Iam;
use tonic::{Request, Response, Status};

use super::{
    iam_attach, iam_groups, iam_inline, iam_login, iam_org, iam_policies, iam_roles, iam_tags,
    iam_users,
};
use crate::node::Node;

/// The `Iam` service.
#[derive(Debug, Clone)]
pub struct IamApi {
    pub node: Arc<Node>,
}

macro_rules! delegate {
    ($($method:ident => $module:ident :: $func:ident ($req:ident) -> $resp:ident;)*) => {
        $(
            // What `async_trait` would generate: it cannot see methods a macro produces.
            fn $method<'life0, 'async_trait>(
                &'life0 self,
                request: Request<pb::$req>,
            ) -> Pin<Box<dyn Future<Output = Result<Response<pb::$resp>, Status>> + Send + 'async_trait>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                Box::pin(async move { $module::$func(&self.node, request).await.map(Response::new) })
            }
        )*
    };
}

#[tonic::async_trait]
impl Iam for IamApi {
    delegate! {
        create_user => iam_users::create_user(CreateUserRequest) -> CreateUserResponse;
        get_user => iam_users::get_user(GetUserRequest) -> GetUserResponse;
        update_user => iam_users::update_user(UpdateUserRequest) -> UpdateUserResponse;
        delete_user => iam_users::delete_user(DeleteUserRequest) -> DeleteUserResponse;
        list_users => iam_users::list_users(ListUsersRequest) -> ListUsersResponse;
        create_access_key => iam_users::create_access_key(CreateAccessKeyRequest) -> CreateAccessKeyResponse;
        update_access_key => iam_users::update_access_key(UpdateAccessKeyRequest) -> UpdateAccessKeyResponse;
        delete_access_key => iam_users::delete_access_key(DeleteAccessKeyRequest) -> DeleteAccessKeyResponse;
        list_access_keys => iam_users::list_access_keys(ListAccessKeysRequest) -> ListAccessKeysResponse;
        get_access_key_last_used => iam_users::get_access_key_last_used(GetAccessKeyLastUsedRequest) -> GetAccessKeyLastUsedResponse;
        create_group => iam_groups::create_group(CreateGroupRequest) -> CreateGroupResponse;
        get_group => iam_groups::get_group(GetGroupRequest) -> GetGroupResponse;
        update_group => iam_groups::update_group(UpdateGroupRequest) -> UpdateGroupResponse;
        delete_group => iam_groups::delete_group(DeleteGroupRequest) -> DeleteGroupResponse;
        list_groups => iam_groups::list_groups(ListGroupsRequest) -> ListGroupsResponse;
        add_user_to_group => iam_groups::add_user_to_group(AddUserToGroupRequest) -> AddUserToGroupResponse;
        remove_user_from_group => iam_groups::remove_user_from_group(RemoveUserFromGroupRequest) -> RemoveUserFromGroupResponse;
        list_groups_for_user => iam_groups::list_groups_for_user(ListGroupsForUserRequest) -> ListGroupsForUserResponse;
        create_role => iam_roles::create_role(CreateRoleRequest) -> CreateRoleResponse;
        get_role => iam_roles::get_role(GetRoleRequest) -> GetRoleResponse;
        update_role => iam_roles::update_role(UpdateRoleRequest) -> UpdateRoleResponse;
        delete_role => iam_roles::delete_role(DeleteRoleRequest) -> DeleteRoleResponse;
        list_roles => iam_roles::list_roles(ListRolesRequest) -> ListRolesResponse;
        update_assume_role_policy => iam_roles::update_assume_role_policy(UpdateAssumeRolePolicyRequest) -> UpdateAssumeRolePolicyResponse;
        create_policy => iam_policies::create_policy(CreatePolicyRequest) -> CreatePolicyResponse;
        get_policy => iam_policies::get_policy(GetPolicyRequest) -> GetPolicyResponse;
        delete_policy => iam_policies::delete_policy(DeletePolicyRequest) -> DeletePolicyResponse;
        list_policies => iam_policies::list_policies(ListPoliciesRequest) -> ListPoliciesResponse;
        create_policy_version => iam_policies::create_policy_version(CreatePolicyVersionRequest) -> CreatePolicyVersionResponse;
        get_policy_version => iam_policies::get_policy_version(GetPolicyVersionRequest) -> GetPolicyVersionResponse;
        delete_policy_version => iam_policies::delete_policy_version(DeletePolicyVersionRequest) -> DeletePolicyVersionResponse;
        list_policy_versions => iam_policies::list_policy_versions(ListPolicyVersionsRequest) -> ListPolicyVersionsResponse;
        set_default_policy_version => iam_policies::set_default_policy_version(SetDefaultPolicyVersionRequest) -> SetDefaultPolicyVersionResponse;
        list_entities_for_policy => iam_policies::list_entities_for_policy(ListEntitiesForPolicyRequest) -> ListEntitiesForPolicyResponse;
        put_user_policy => iam_inline::put_user_policy(PutUserPolicyRequest) -> PutUserPolicyResponse;
        get_user_policy => iam_inline::get_user_policy(GetUserPolicyRequest) -> GetUserPolicyResponse;
        delete_user_policy => iam_inline::delete_user_policy(DeleteUserPolicyRequest) -> DeleteUserPolicyResponse;
        list_user_policies => iam_inline::list_user_policies(ListUserPoliciesRequest) -> ListUserPoliciesResponse;
        put_group_policy => iam_inline::put_group_policy(PutGroupPolicyRequest) -> PutGroupPolicyResponse;
        get_group_policy => iam_inline::get_group_policy(GetGroupPolicyRequest) -> GetGroupPolicyResponse;
        delete_group_policy => iam_inline::delete_group_policy(DeleteGroupPolicyRequest) -> DeleteGroupPolicyResponse;
        list_group_policies => iam_inline::list_group_policies(ListGroupPoliciesRequest) -> ListGroupPoliciesResponse;
        put_role_policy => iam_inline::put_role_policy(PutRolePolicyRequest) -> PutRolePolicyResponse;
        get_role_policy => iam_inline::get_role_policy(GetRolePolicyRequest) -> GetRolePolicyResponse;
        delete_role_policy => iam_inline::delete_role_policy(DeleteRolePolicyRequest) -> DeleteRolePolicyResponse;
        list_role_policies => iam_inline::list_role_policies(ListRolePoliciesRequest) -> ListRolePoliciesResponse;
        attach_user_policy => iam_attach::attach_user_policy(AttachUserPolicyRequest) -> AttachUserPolicyResponse;
        detach_user_policy => iam_attach::detach_user_policy(DetachUserPolicyRequest) -> DetachUserPolicyResponse;
        attach_group_policy => iam_attach::attach_group_policy(AttachGroupPolicyRequest) -> AttachGroupPolicyResponse;
        detach_group_policy => iam_attach::detach_group_policy(DetachGroupPolicyRequest) -> DetachGroupPolicyResponse;
        attach_role_policy => iam_attach::attach_role_policy(AttachRolePolicyRequest) -> AttachRolePolicyResponse;
        detach_role_policy => iam_attach::detach_role_policy(DetachRolePolicyRequest) -> DetachRolePolicyResponse;
        list_attached_user_policies => iam_attach::list_attached_user_policies(ListAttachedUserPoliciesRequest) -> ListAttachedUserPoliciesResponse;
        list_attached_group_policies => iam_attach::list_attached_group_policies(ListAttachedGroupPoliciesRequest) -> ListAttachedGroupPoliciesResponse;
        list_attached_role_policies => iam_attach::list_attached_role_policies(ListAttachedRolePoliciesRequest) -> ListAttachedRolePoliciesResponse;
        put_user_permissions_boundary => iam_attach::put_user_permissions_boundary(PutUserPermissionsBoundaryRequest) -> PutUserPermissionsBoundaryResponse;
        delete_user_permissions_boundary => iam_attach::delete_user_permissions_boundary(DeleteUserPermissionsBoundaryRequest) -> DeleteUserPermissionsBoundaryResponse;
        put_role_permissions_boundary => iam_attach::put_role_permissions_boundary(PutRolePermissionsBoundaryRequest) -> PutRolePermissionsBoundaryResponse;
        delete_role_permissions_boundary => iam_attach::delete_role_permissions_boundary(DeleteRolePermissionsBoundaryRequest) -> DeleteRolePermissionsBoundaryResponse;
        tag_user => iam_tags::tag_user(TagUserRequest) -> TagUserResponse;
        untag_user => iam_tags::untag_user(UntagUserRequest) -> UntagUserResponse;
        list_user_tags => iam_tags::list_user_tags(ListUserTagsRequest) -> ListUserTagsResponse;
        tag_role => iam_tags::tag_role(TagRoleRequest) -> TagRoleResponse;
        untag_role => iam_tags::untag_role(UntagRoleRequest) -> UntagRoleResponse;
        list_role_tags => iam_tags::list_role_tags(ListRoleTagsRequest) -> ListRoleTagsResponse;
        tag_policy => iam_tags::tag_policy(TagPolicyRequest) -> TagPolicyResponse;
        untag_policy => iam_tags::untag_policy(UntagPolicyRequest) -> UntagPolicyResponse;
        list_policy_tags => iam_tags::list_policy_tags(ListPolicyTagsRequest) -> ListPolicyTagsResponse;
        create_login_profile => iam_login::create_login_profile(CreateLoginProfileRequest) -> CreateLoginProfileResponse;
        get_login_profile => iam_login::get_login_profile(GetLoginProfileRequest) -> GetLoginProfileResponse;
        update_login_profile => iam_login::update_login_profile(UpdateLoginProfileRequest) -> UpdateLoginProfileResponse;
        delete_login_profile => iam_login::delete_login_profile(DeleteLoginProfileRequest) -> DeleteLoginProfileResponse;
        update_account_password_policy => iam_login::update_account_password_policy(UpdateAccountPasswordPolicyRequest) -> UpdateAccountPasswordPolicyResponse;
        get_account_password_policy => iam_login::get_account_password_policy(GetAccountPasswordPolicyRequest) -> GetAccountPasswordPolicyResponse;
        delete_account_password_policy => iam_login::delete_account_password_policy(DeleteAccountPasswordPolicyRequest) -> DeleteAccountPasswordPolicyResponse;
        create_account => iam_org::create_account(CreateAccountRequest) -> CreateAccountResponse;
        list_accounts => iam_org::list_accounts(ListAccountsRequest) -> ListAccountsResponse;
        create_organization => iam_org::create_organization(CreateOrganizationRequest) -> CreateOrganizationResponse;
        describe_organization => iam_org::describe_organization(DescribeOrganizationRequest) -> DescribeOrganizationResponse;
        create_organizational_unit => iam_org::create_organizational_unit(CreateOrganizationalUnitRequest) -> CreateOrganizationalUnitResponse;
        delete_organizational_unit => iam_org::delete_organizational_unit(DeleteOrganizationalUnitRequest) -> DeleteOrganizationalUnitResponse;
        list_organizational_units_for_parent => iam_org::list_organizational_units_for_parent(ListOrganizationalUnitsForParentRequest) -> ListOrganizationalUnitsForParentResponse;
        move_account => iam_org::move_account(MoveAccountRequest) -> MoveAccountResponse;
        create_service_control_policy => iam_org::create_service_control_policy(CreateServiceControlPolicyRequest) -> CreateServiceControlPolicyResponse;
        update_service_control_policy => iam_org::update_service_control_policy(UpdateServiceControlPolicyRequest) -> UpdateServiceControlPolicyResponse;
        delete_service_control_policy => iam_org::delete_service_control_policy(DeleteServiceControlPolicyRequest) -> DeleteServiceControlPolicyResponse;
        list_service_control_policies => iam_org::list_service_control_policies(ListServiceControlPoliciesRequest) -> ListServiceControlPoliciesResponse;
        attach_service_control_policy => iam_org::attach_service_control_policy(AttachServiceControlPolicyRequest) -> AttachServiceControlPolicyResponse;
        detach_service_control_policy => iam_org::detach_service_control_policy(DetachServiceControlPolicyRequest) -> DetachServiceControlPolicyResponse;
    }
}
