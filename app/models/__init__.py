"""Every model, imported here so Alembic autogenerate and the shell see the whole schema."""
from app.models.accounts import AUTH_LTI, AUTH_MANUAL, LoginAttempt, LtiIdentity, User
from app.models.config_version import ConfigVersion
from app.models.courses import (
    ActivityCompletion, Activity, AssignmentSubmission, Course, Enrolment, QuizAttempt, QuizChoice,
    QuizQuestion, RoleAssignment,
)
from app.models.gradebook import Grade
from app.models.jobs import GradeSyncLog, ScheduledRun, SyncJob
from app.models.launches import (
    LaunchLog, Lti11Consumer, Lti11Nonce, LtiContext, LtiStorageEntry, LtiUser, LtiUserResourceLink,
    ResourceLink,
)
from app.models.platforms import (
    AccessToken, Deployment, PlatformKeyset, PlatformRegistration, RegistrationToken, ToolKey,
)
from app.models.settings import SiteSetting
from app.models.tools import PublishedResource, published_resource_registration

__all__ = [
    "AUTH_LTI", "AUTH_MANUAL", "AccessToken", "Activity", "ActivityCompletion", "AssignmentSubmission",
    "ConfigVersion", "Course", "Deployment", "Enrolment", "Grade", "GradeSyncLog", "LaunchLog", "LoginAttempt",
    "Lti11Consumer", "Lti11Nonce", "LtiContext", "LtiIdentity", "LtiStorageEntry", "LtiUser", "LtiUserResourceLink",
    "PlatformKeyset", "PlatformRegistration", "PublishedResource", "QuizAttempt", "QuizChoice", "QuizQuestion",
    "RegistrationToken", "ResourceLink", "RoleAssignment", "ScheduledRun", "SiteSetting", "SyncJob", "ToolKey",
    "User", "published_resource_registration",
]
