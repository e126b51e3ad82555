"""Creates IAM principals in a moto server and returns their temporary credentials.

Reads a JSON document on stdin:
  {"endpoint": URL,
   "roles": [{"name", "trust_policy": JSON string,
              "managed_policies": [{"name", "document": JSON string}],
              "inline_policies": [{"name", "document": JSON string}],
              "assume": "role" | "web-identity"}]}
and prints {"<role name>": {"AccessKeyId", "SecretAccessKey", "SessionToken", "Arn"}} on stdout.

The policy documents are passed through as strings, byte for byte as terraform rendered them.
Run while moto still accepts unsigned setup calls (before POST /moto-api/reset-auth).
"""

import json
import sys

import boto3


def main() -> None:
    spec = json.load(sys.stdin)
    kw = dict(endpoint_url=spec["endpoint"], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup-secret")
    iam = boto3.client("iam", **kw)
    sts = boto3.client("sts", **kw)
    out = {}
    for role in spec["roles"]:
        arn = iam.create_role(RoleName=role["name"], AssumeRolePolicyDocument=role["trust_policy"])["Role"]["Arn"]
        for p in role.get("managed_policies", []):
            policy_arn = iam.create_policy(PolicyName=p["name"], PolicyDocument=p["document"])["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=policy_arn)
        for p in role.get("inline_policies", []):
            iam.put_role_policy(RoleName=role["name"], PolicyName=p["name"], PolicyDocument=p["document"])
        if role["assume"] == "web-identity":
            # what the AWS SDK does with AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE under IRSA
            creds = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="airflow-scheduler", WebIdentityToken="eyJ0ZXN0IjoidG9rZW4ifQ")["Credentials"]
        else:
            creds = sts.assume_role(RoleArn=arn, RoleSessionName="ci-job")["Credentials"]
        out[role["name"]] = {k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")} | {"Arn": arn}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
